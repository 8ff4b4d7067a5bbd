//! Shared pieces of the benchmarks: the provider every instrumented variant reports into, the
//! instrumented functions, and each variant's setup — used by the divan suite
//! (`benches/overhead.rs`) and by the instruction-count binary (`src/bin/calls.rs`), so both
//! measure exactly the same thing.

use std::time::Duration;

use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::trace::{
    BatchConfigBuilder, BatchSpanProcessor, SdkTracerProvider, SpanData, SpanExporter,
};

pub mod db;
pub mod variants;
pub mod work;

/// Drops every batch: measures the instrumentation, not the network.
#[derive(Debug, Default)]
pub struct DiscardingExporter;

impl SpanExporter for DiscardingExporter {
    async fn export(&self, batch: Vec<SpanData>) -> OTelSdkResult {
        drop(batch);
        Ok(())
    }
}

/// Drops every batch of log records.
#[derive(Debug, Default)]
pub struct DiscardingLogExporter;

impl opentelemetry_sdk::logs::LogExporter for DiscardingLogExporter {
    async fn export(&self, batch: opentelemetry_sdk::logs::LogBatch<'_>) -> OTelSdkResult {
        let _ = batch;
        Ok(())
    }
}

/// An SDK logger provider with the SDK's batch log processor (queue big enough that nothing is
/// dropped while measuring) and a discarding exporter: the same sink for every logs variant.
pub fn discarding_logger_provider() -> opentelemetry_sdk::logs::SdkLoggerProvider {
    use opentelemetry_sdk::logs::{BatchConfigBuilder, BatchLogProcessor};
    let processor = BatchLogProcessor::builder(DiscardingLogExporter)
        .with_batch_config(
            BatchConfigBuilder::default()
                .with_max_queue_size(QUEUE_SIZE)
                .with_max_export_batch_size(4_096)
                .with_scheduled_delay(Duration::from_millis(50))
                .build(),
        )
        .build();
    opentelemetry_sdk::logs::SdkLoggerProvider::builder()
        .with_log_processor(processor)
        .build()
}

/// Capacity of the batch queue in [`discarding_provider`]: runs that end more spans than this
/// before the export thread drains the queue would measure the (cheaper) drop path.
pub const QUEUE_SIZE: usize = 65_536;

/// An SDK provider with the SDK's batch processor (queue big enough that nothing is dropped
/// while measuring) and a discarding exporter: the same sink for every variant.
pub fn discarding_provider() -> SdkTracerProvider {
    let processor = BatchSpanProcessor::builder(DiscardingExporter)
        .with_batch_config(
            BatchConfigBuilder::default()
                .with_max_queue_size(QUEUE_SIZE)
                .with_max_export_batch_size(4_096)
                .with_scheduled_delay(Duration::from_millis(50))
                .build(),
        )
        .build();
    SdkTracerProvider::builder()
        .with_span_processor(processor)
        .build()
}
