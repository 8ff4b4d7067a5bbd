//! The span processor the tracer provider holds.

use std::sync::Arc;
use std::time::Duration;

use opentelemetry::Context;
use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::trace::{Span, SpanData, SpanExporter, SpanProcessor};

#[cfg(feature = "lambda")]
use super::Flusher;
use super::{BatchConfig, Batched, ExportTarget, Queue};
use crate::export::report::Report;
use crate::export::size;

/// The queue end held by the tracer provider.
pub(crate) struct BatchProcessor {
    pub(super) queue: Queue<SpanData>,
}

impl std::fmt::Debug for BatchProcessor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BatchProcessor")
            .field("max_queue_size", &self.queue.max_queue_size)
            .finish_non_exhaustive()
    }
}

impl BatchProcessor {
    pub(crate) fn start<E: SpanExporter + 'static>(
        target: ExportTarget<E>,
        config: BatchConfig,
        report: Arc<Report>,
    ) -> Self {
        BatchProcessor {
            queue: Queue::start(target, config, report),
        }
    }

    /// Flushes this processor's queue by a deadline, from wherever the tracer is used.
    #[cfg(feature = "lambda")]
    pub(crate) fn flusher(&self) -> Flusher<SpanData> {
        self.queue.flusher()
    }
}

impl SpanProcessor for BatchProcessor {
    fn on_start(&self, _span: &mut Span, _cx: &Context) {}

    fn on_end(&self, span: SpanData) {
        if !span.span_context.is_sampled() {
            return;
        }
        self.queue.push(Box::new(span));
    }

    fn force_flush(&self) -> OTelSdkResult {
        self.queue.force_flush()
    }

    fn shutdown_with_timeout(&self, timeout: Duration) -> OTelSdkResult {
        self.queue.shutdown_with_timeout(timeout)
    }
}

impl<E: SpanExporter> Batched<E> for SpanData {
    fn collect(batch: &mut Vec<Self>, limit: usize) -> usize {
        crate::fast::drain(batch, limit)
    }

    fn discard() -> usize {
        crate::fast::discard()
    }

    fn len_bound(&self) -> usize {
        size::span(self)
    }

    fn scope_len_bound(&self) -> usize {
        size::scope(&self.instrumentation_scope)
    }

    fn same_scope(&self, other: &Self) -> bool {
        self.instrumentation_scope == other.instrumentation_scope
    }

    fn export(exporter: &E, request: Vec<Self>) -> OTelSdkResult {
        futures_executor::block_on(exporter.export(request))
    }

    fn shutdown(exporter: &E) -> OTelSdkResult {
        exporter.shutdown()
    }
}
