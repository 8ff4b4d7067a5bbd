use mackerel_trace::traced;

struct S;

#[traced]
impl S {
    #[traced(record(b))]
    fn f(&self, a: u8) -> u8 {
        a
    }

    #[traced(kind = nope)]
    fn g(&self) {}
}

fn main() {}
