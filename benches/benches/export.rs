//! Placeholder until the end-to-end export benchmark lands.
fn main() {}
