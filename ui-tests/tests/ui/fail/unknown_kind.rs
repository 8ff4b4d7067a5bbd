use mackerel_trace::traced;

#[traced(kind = sever)]
fn f() {}

#[traced(kind = "server")]
fn g() {}

fn main() {}
