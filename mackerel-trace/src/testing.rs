//! Test support: capture spans in memory, or receive them over real OTLP/HTTP.
//!
//! Enabled by the `testing` feature.

mod capture;
mod receiver;

pub use capture::SpanCapture;
pub use receiver::{ReceivedRequest, ReceivedSpan, Receiver, Reply};
