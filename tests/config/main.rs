//! The configuration contract (SPEC §3–4): where traces go, the API key and headers, each
//! `OTEL_*`/`MACKEREL_*` variable and its precedence over code, the resource, and one named,
//! secret-free error for every malformed value.
//!
//! Every test supplies its variables with `Config::with_env_vars`; none reads or changes the
//! real process environment.

use std::time::Duration;

use mackerel_trace::{
    Compression, Config, Destination, Error, OffReason, Sampler, Settings, MACKEREL_ENDPOINT,
};

mod api_key;
mod destination;
mod headers;
mod malformed;
mod variables;

// ---------------------------------------------------------------------------------------------
// helpers

pub(crate) fn resolve(vars: &[(&str, &str)]) -> Settings {
    resolve_with(Config::new(), vars)
}

pub(crate) fn resolve_with(config: Config, vars: &[(&str, &str)]) -> Settings {
    config
        .with_env_vars(vars.iter().copied())
        .resolve()
        .unwrap_or_else(|err| panic!("expected {vars:?} to resolve, got error: {err}"))
}

pub(crate) fn error(vars: &[(&str, &str)]) -> Error {
    error_with(Config::new(), vars)
}

pub(crate) fn error_with(config: Config, vars: &[(&str, &str)]) -> Error {
    match config.with_env_vars(vars.iter().copied()).resolve() {
        Ok(settings) => panic!("expected {vars:?} to be an error, got {settings:?}"),
        Err(err) => err,
    }
}

/// A top-level field of `Settings`' pretty `Debug` output, for the options that have no
/// accessor of their own (compression, batch processor sizes and delays).
pub(crate) fn field(settings: &Settings, name: &str) -> String {
    let debug = format!("{settings:#?}");
    let prefix = format!("    {name}: ");
    debug
        .lines()
        .find_map(|line| line.strip_prefix(&prefix))
        .map(|value| value.trim_end_matches(',').to_owned())
        .unwrap_or_else(|| panic!("no field {name} in {debug}"))
}

/// The names of the extra headers `Settings` will send (values are never shown).
pub(crate) fn header_names(settings: &Settings) -> String {
    let debug = format!("{settings:?}");
    let start = debug.find("headers: [").expect("headers field") + "headers: ".len();
    let end = start + debug[start..].find(']').expect("end of headers") + 1;
    debug[start..end].to_owned()
}

pub(crate) const KEY: &str = "mkr-key-1234567890";
pub(crate) const OTHER_KEY: &str = "mkr-key-0987654321";
