//! The configuration contract: where traces go, the API key and headers, each
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

/// An option of `Settings`, formatted with `Debug` (`"Gzip"`, `"5s"`, `"4096"`).
pub(crate) fn field(settings: &Settings, name: &str) -> String {
    match name {
        "compression" => format!("{:?}", settings.compression()),
        "schedule_delay" => format!("{:?}", settings.schedule_delay()),
        "max_queue_size" => settings.max_queue_size().to_string(),
        "max_export_batch_size" => settings.max_export_batch_size().to_string(),
        "bsp_export_timeout" => format!("{:?}", settings.batch_export_timeout()),
        other => panic!("no accessor for {other}"),
    }
}

/// The names of the extra headers `Settings` will send, as `["a", "b"]`.
pub(crate) fn header_names(settings: &Settings) -> String {
    format!("{:?}", settings.header_names())
}

pub(crate) const KEY: &str = "mkr-key-1234567890";
pub(crate) const OTHER_KEY: &str = "mkr-key-0987654321";
