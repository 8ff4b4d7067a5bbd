use mackerel_trace::traced;

#[traced(nmae = "x")]
fn f() {}

#[traced(recrod(a))]
fn g(a: u8) -> u8 {
    a
}

fn main() {}
