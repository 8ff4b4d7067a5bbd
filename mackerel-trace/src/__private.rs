//! What `#[traced]` and `#[main]` expansions call, and nothing else. Not public API.

// ---- #[main] ----

pub use crate::startup::{start_main, MainOptions};
