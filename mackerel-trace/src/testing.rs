//! Test support: capture spans in memory, or receive them over real OTLP/HTTP.
//!
//! Enabled by the `testing` feature.

mod capture;

pub use capture::SpanCapture;
