use mackerel_trace::traced;

#[traced(skip)]
fn f() {}

fn main() {}
