use mackerel_trace::traced;

#[traced]
const fn f() -> u8 {
    1
}

fn main() {}
