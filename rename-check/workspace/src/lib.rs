//! mackerel-trace renamed to `mackerel` in `[workspace.dependencies]` and inherited with
//! `mackerel = { workspace = true }`: the macros must follow the inheritance to the root manifest.

/// Traced under its own name, through the renamed crate.
#[mackerel::traced(record(id))]
pub fn checkout(id: u64) -> u64 {
    id + 1
}
