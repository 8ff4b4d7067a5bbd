#![deny(warnings)]

use mackerel_trace as mackerel;

#[mackerel::traced]
fn f() -> u8 {
    1
}

#[mackerel::traced(crate = mackerel)]
fn g() -> u8 {
    2
}

#[mackerel::main]
fn main() {
    let _ = f() + g();
}
