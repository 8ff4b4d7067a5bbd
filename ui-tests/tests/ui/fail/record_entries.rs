use mackerel_trace::traced;

#[traced(record(a, a, user.id, %b = a, c =))]
fn f(a: u8, b: u8) -> u8 {
    a + b
}

fn main() {}
