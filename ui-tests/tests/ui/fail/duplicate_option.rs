use mackerel_trace::traced;

#[traced(name = "a", kind = client, name = "b", kind = server)]
fn f() {}

#[traced(root, root)]
fn g() {}

fn main() {}
