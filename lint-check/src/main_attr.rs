//! `#[mackerel::main]` through the renamed dependency, under the same lints (compiled, not run:
//! running it would start a pipeline from the environment).

/// A `main`-shaped entry point with every option.
#[mackerel::main(
    service_name = "lint-check",
    service_version = "0.0.0",
    environment = "ci"
)]
pub fn start() {
    let _ = crate::shapes::SPAN_NAMES.len();
}

/// One returning a `Result`, as `main` may.
///
/// # Errors
///
/// Never; the shape is what is checked.
#[mackerel::main]
pub fn start_fallible() -> Result<(), String> {
    Ok(())
}
