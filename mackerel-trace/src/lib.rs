#![doc = include_str!("../README.md")]
//!
//! ## In this crate
//!
//! - [`traced`] opens a span per call, records the arguments you name as typed attributes, and
//!   marks `Err` returns and panics as errors with an `exception` event.
//! - [`main`] (or [`init`], or [`Config::init`]) starts the pipeline and returns a [`Guard`]
//!   that flushes on exit, bounded in time.
//! - [`set_tracer_provider`] sends `#[traced]` spans to a provider you build yourself.
//! - [`opentelemetry`](https://docs.rs/opentelemetry/0.33.1/opentelemetry/) and
//!   [`opentelemetry_sdk`](https://docs.rs/opentelemetry_sdk/0.33.1/opentelemetry_sdk/) are
//!   re-exported as `mackerel_trace::opentelemetry` and `mackerel_trace::opentelemetry_sdk`: the
//!   exact crates used here, for manual spans.
//! - [`propagation`] carries trace context across any boundary; the `tower`, `axum`, `actix`
//!   and `reqwest` features add HTTP SERVER and CLIENT spans (`tower::ServerLayer`,
//!   `tower::ClientLayer`, `actix::Middleware`, `reqwest::RequestBuilderExt::send_traced`),
//!   which fill Mackerel's HTTP view and join services into one trace — the tower layers trace
//!   gRPC calls (tonic) too, as RPC spans; the `tracing` feature's `tracing::layer()`
//!   brings spans of libraries instrumented with `tracing`, and sqlx queries as DB spans; the
//!   `redis` feature's `redis::Traced` makes every command of a redis connection a DB span;
//!   the `lambda` feature's `lambda::Layer` traces AWS Lambda invocations and exports their
//!   spans before each response.
//! - The `testing` feature adds `testing::SpanCapture` (spans in memory) and
//!   `testing::Receiver` (a local OTLP/HTTP endpoint).
#![warn(missing_docs)]
// docs.rs (and CI's `cargo doc`) mark each item with the feature it needs.
#![cfg_attr(docsrs, feature(doc_cfg))]

#[cfg(feature = "actix")]
pub mod actix;
mod config;
mod console;
mod current;
#[cfg(any(feature = "tracing", feature = "diesel", feature = "redis"))]
#[allow(dead_code)] // each integration uses a different part
mod db_span;
#[cfg(feature = "diesel")]
pub mod diesel;
mod error;
mod exception;
mod export;
mod fast;
mod guard;
#[cfg(any(
    feature = "tower",
    feature = "actix",
    feature = "reqwest",
    feature = "lambda"
))]
// actix and lambda alone have no client side
#[cfg_attr(not(any(feature = "tower", feature = "reqwest")), allow(dead_code))]
mod http_span;
#[cfg(feature = "lambda")]
pub mod lambda;
#[cfg(feature = "logs")]
mod logs;
mod outcome;
mod panic;
mod pipeline;
pub mod propagation;
#[cfg(feature = "redis")]
pub mod redis;
#[cfg(feature = "reqwest")]
pub mod reqwest;
mod rewrite;
#[cfg(feature = "tower")]
mod rpc_span;
mod secret;
mod settings;
mod span;
#[cfg(feature = "testing")]
pub mod testing;
#[cfg(feature = "tower")]
pub mod tower;
mod tracer;
#[cfg(feature = "tracing")]
pub mod tracing;
#[cfg(any(feature = "tower", feature = "actix"))]
mod untraced;
mod value;

pub use config::{init, Config};
pub use current::{in_current_span, in_current_span_with};
pub use error::Error;
pub use export::ExportStats;
pub use guard::Guard;
#[cfg(feature = "logs")]
pub use logs::set_logger_provider;
pub use mackerel_trace_macros::{main, traced};
pub use secret::ApiKey;
#[cfg(feature = "logs")]
pub use settings::MACKEREL_LOGS_ENDPOINT;
pub use settings::{Compression, Destination, OffReason, Sampler, Settings, MACKEREL_ENDPOINT};
pub use tracer::set_tracer_provider;
pub use value::{ArrayElement, AttributeValue};

/// The OpenTelemetry API crate this version of mackerel-trace is built on.
pub use opentelemetry;
/// The OpenTelemetry SDK crate this version of mackerel-trace is built on.
pub use opentelemetry_sdk;

#[doc(hidden)]
pub mod __private;
