use mackerel_trace::traced;

struct S;

#[traced]
impl S {
    #[traced(skip, name = "x")]
    fn f(&self) {}
}

fn main() {}
