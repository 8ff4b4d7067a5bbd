//! What `#[traced]` does at run time, one module per feature, in one test binary. Every span
//! goes to one in-memory capture (`support`); each module traces functions with names of its
//! own, so tests look spans up by name and run in parallel.
//!
//! `tests/traced_off.rs` stays a binary of its own: it needs a process with no provider
//! installed.

mod support;

mod async_fn;
mod errors;
mod hygiene;
mod impl_blocks;
mod kinds;
mod names;
mod panics;
mod parents;
mod record;
mod track_caller;
mod traits;
mod values;
