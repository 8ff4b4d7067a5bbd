use mackerel_trace::traced;

#[traced(record())]
fn f() {}

fn main() {}
