//! Send OpenTelemetry traces from Rust to Mackerel APM.
#![warn(missing_docs)]

#[allow(dead_code)] // used by the pipeline once it lands
mod console;
mod install;
#[cfg(feature = "testing")]
pub mod testing;

pub use install::set_tracer_provider;
pub use mackerel_trace_macros::{main, traced};

/// The OpenTelemetry API crate this version of mackerel-trace is built on.
pub use opentelemetry;
/// The OpenTelemetry SDK crate this version of mackerel-trace is built on.
pub use opentelemetry_sdk;

#[doc(hidden)]
#[path = "__private.rs"]
pub mod __private;
