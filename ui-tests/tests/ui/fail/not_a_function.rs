use mackerel_trace::traced;

#[traced]
struct S;

fn main() {}
