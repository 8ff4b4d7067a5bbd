//! mackerel-trace renamed to `mackerel` with dotted keys (`mackerel.package = "mackerel-trace"`):
//! the macros must find that name in the manifest, here and in this crate's tests.

/// Traced under its own name, through the renamed crate.
#[mackerel::traced(record(id))]
pub fn checkout(id: u64) -> u64 {
    id + 1
}

/// A `main` through the renamed crate: installs the pipeline from the environment, traces one
/// call, and flushes on return.
#[mackerel::main(service_name = "rename-dotted")]
pub fn run() {
    checkout(7);
}
