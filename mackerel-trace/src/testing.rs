//! Test support: capture spans in memory, or receive them (and, with the `logs` feature, log
//! records) over real OTLP/HTTP.
//!
//! Enabled by the `testing` feature.

mod capture;
mod receiver;

pub use capture::SpanCapture;
#[cfg(feature = "logs")]
pub use receiver::ReceivedLog;
pub use receiver::{ReceivedRequest, ReceivedSpan, Receiver, Reply};

/// The official OTLP protobuf types the [`Receiver`] decodes into (`opentelemetry-proto`).
///
/// ```
/// use mackerel_trace::testing::proto::common::v1::any_value::Value;
/// let value = Value::IntValue(1);
/// ```
pub use opentelemetry_proto::tonic as proto;
