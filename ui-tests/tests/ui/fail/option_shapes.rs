use mackerel_trace::traced;

#[traced(name = 5, root = true, record, crate, ret(x), name = "")]
fn f() {}

fn main() {}
