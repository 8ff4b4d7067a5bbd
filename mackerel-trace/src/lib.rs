//! Send OpenTelemetry traces from Rust to Mackerel APM.
#![warn(missing_docs)]

mod config;
mod console;
mod error;
mod export;
mod guard;
mod install;
mod pipeline;
mod outcome;
mod span;
mod startup;
#[cfg(feature = "testing")]
pub mod testing;
mod value;

pub use config::{
    ApiKey, Compression, Config, Destination, OffReason, Sampler, Settings, MACKEREL_ENDPOINT,
};
pub use error::Error;
pub use export::ExportStats;
pub use guard::{init, Guard};
pub use install::set_tracer_provider;
pub use mackerel_trace_macros::{main, traced};
pub use value::{ArrayElement, AttributeValue};

/// The OpenTelemetry API crate this version of mackerel-trace is built on.
pub use opentelemetry;
/// The OpenTelemetry SDK crate this version of mackerel-trace is built on.
pub use opentelemetry_sdk;

#[doc(hidden)]
#[path = "__private.rs"]
pub mod __private;
