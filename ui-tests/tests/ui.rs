//! Compile-time behaviour of `#[traced]` and `#[mackerel_trace::main]`: every supported shape
//! compiles (`ui/pass`), every diagnostic reads as intended (`ui/fail/*.stderr`, pinned to the
//! toolchain CI uses).

#[test]
fn ui() {
    let cases = trybuild::TestCases::new();
    cases.pass("tests/ui/pass/*.rs");
    cases.compile_fail("tests/ui/fail/*.rs");
}
