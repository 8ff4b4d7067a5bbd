//! What `#[traced]` and `#[main]` expansions call, and nothing else. Not public API.
