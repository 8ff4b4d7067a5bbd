#![deny(warnings)]

// A crate re-exporting mackerel-trace under another path.
mod wrapper {
    pub use mackerel_trace as tracing_backend;
    pub use mackerel_trace::traced;
}

#[wrapper::traced(crate = crate::wrapper::tracing_backend)]
fn f() -> u8 {
    1
}

#[wrapper::traced(crate = wrapper::tracing_backend)]
impl S {
    fn m(&self) {}
}

struct S;

fn main() {
    let _ = f();
    S.m();
}
