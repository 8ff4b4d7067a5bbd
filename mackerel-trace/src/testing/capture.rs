//! [`SpanCapture`]: spans kept in memory, for asserting on what `#[traced]` recorded.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::trace::{SdkTracerProvider, SpanData, SpanExporter};

/// An exporter that keeps every finished span in memory, for asserting on what was recorded.
///
/// Spans are exported synchronously (simple processor), so a span is visible as soon as it ends.
///
/// # Example
///
/// ```
/// use mackerel_trace::testing::SpanCapture;
///
/// let capture = SpanCapture::install();
/// {
///     use mackerel_trace::opentelemetry::trace::Tracer as _;
///     let _span = mackerel_trace::opentelemetry::global::tracer("t").start("manual");
/// }
/// assert!(capture.spans().iter().any(|s| s.name == "manual"));
/// ```
#[derive(Clone, Debug, Default)]
pub struct SpanCapture {
    spans: Arc<Mutex<Vec<SpanData>>>,
}

impl SpanCapture {
    /// Builds a provider that exports into a new capture, installs it with
    /// [`set_tracer_provider`](crate::set_tracer_provider), and returns the capture.
    pub fn install() -> Self {
        let capture = SpanCapture::default();
        let provider = SdkTracerProvider::builder()
            .with_simple_exporter(capture.clone())
            .build();
        crate::set_tracer_provider(provider);
        capture
    }

    /// Every span finished so far, in the order they ended.
    pub fn spans(&self) -> Vec<SpanData> {
        self.spans
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Finished spans with this name, in the order they ended.
    pub fn spans_named(&self, name: &str) -> Vec<SpanData> {
        self.spans()
            .into_iter()
            .filter(|span| span.name == name)
            .collect()
    }

    /// Removes and returns every span finished so far.
    pub fn take(&self) -> Vec<SpanData> {
        std::mem::take(&mut *self.spans.lock().unwrap_or_else(PoisonError::into_inner))
    }
}

impl SpanExporter for SpanCapture {
    async fn export(&self, batch: Vec<SpanData>) -> OTelSdkResult {
        self.spans
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .extend(batch);
        Ok(())
    }

    fn shutdown_with_timeout(&self, _timeout: Duration) -> OTelSdkResult {
        Ok(())
    }
}
