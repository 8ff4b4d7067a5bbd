use mackerel_trace::traced;

struct S;

#[traced(name = "s", record(a), skip)]
impl S {
    fn f(&self, a: u8) -> u8 {
        a
    }
}

fn main() {}
