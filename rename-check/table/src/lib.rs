//! mackerel-trace renamed to `mackerel` in a `[dependencies.mackerel]` table: the macros must find
//! that name in the manifest, here and in this crate's tests.

/// Traced under its own name, through the renamed crate.
#[mackerel::traced(record(id))]
pub fn checkout(id: u64) -> u64 {
    id + 1
}
