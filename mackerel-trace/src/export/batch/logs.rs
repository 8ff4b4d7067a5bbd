//! The log record processor the logger provider holds (feature `logs`).

use std::sync::Arc;
use std::time::Duration;

use opentelemetry::InstrumentationScope;
use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::logs::{LogBatch, LogExporter, LogProcessor, SdkLogRecord};

use super::{BatchConfig, Batched, ExportTarget, Queue};
use crate::export::report::Report;
use crate::export::size;

/// The queue end held by the logger provider.
///
/// The exporter must carry the resource before [`start`](Self::start)
/// (`LogExporter::set_resource`): the provider's `set_resource` call on this processor cannot
/// reach an exporter that already lives on the export thread.
pub(crate) struct LogBatchProcessor {
    queue: Queue<LogData>,
}

/// A log record with its scope, as queued and exported.
struct LogData {
    record: SdkLogRecord,
    scope: InstrumentationScope,
}

impl std::fmt::Debug for LogBatchProcessor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LogBatchProcessor")
            .field("max_queue_size", &self.queue.max_queue_size)
            .finish_non_exhaustive()
    }
}

impl LogBatchProcessor {
    pub(crate) fn start<E: LogExporter + 'static>(
        target: ExportTarget<E>,
        config: BatchConfig,
        report: Arc<Report>,
    ) -> Self {
        LogBatchProcessor {
            queue: Queue::start(target, config, report),
        }
    }
}

impl LogProcessor for LogBatchProcessor {
    fn emit(&self, record: &mut SdkLogRecord, scope: &InstrumentationScope) {
        self.queue.push(Box::new(LogData {
            record: record.clone(),
            scope: scope.clone(),
        }));
    }

    fn force_flush(&self) -> OTelSdkResult {
        self.queue.force_flush()
    }

    fn shutdown_with_timeout(&self, timeout: Duration) -> OTelSdkResult {
        self.queue.shutdown_with_timeout(timeout)
    }
}

impl<E: LogExporter> Batched<E> for LogData {
    /// The `tracing` layer's records get their map body here, off the application's thread.
    fn prepare(&mut self) {
        if self.scope.name() == crate::tracer::SCOPE_NAME {
            self.record = crate::tracing::to_map_body(&self.record);
        }
    }

    fn len_bound(&self) -> usize {
        size::log_record(&self.record)
    }

    fn scope_len_bound(&self) -> usize {
        size::log_scope(&self.record, &self.scope)
    }

    /// The exporter groups by target and scope; telling apart what it might merge only
    /// over-counts.
    fn same_scope(&self, other: &Self) -> bool {
        self.record.target() == other.record.target() && self.scope == other.scope
    }

    fn export(exporter: &E, request: Vec<Self>) -> OTelSdkResult {
        let records: Vec<(&SdkLogRecord, &InstrumentationScope)> = request
            .iter()
            .map(|log| (&log.record, &log.scope))
            .collect();
        futures_executor::block_on(exporter.export(LogBatch::new(&records)))
    }

    fn shutdown(exporter: &E) -> OTelSdkResult {
        exporter.shutdown()
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;
    use std::time::{Instant, SystemTime};

    use opentelemetry::logs::{LogRecord as _, Logger as _, LoggerProvider as _};
    use opentelemetry::KeyValue;
    use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
    use opentelemetry_proto::transform::common::tonic::ResourceAttributesWithSchema;
    use opentelemetry_proto::transform::logs::tonic::group_logs_by_resource_and_scope;
    use opentelemetry_sdk::logs::SdkLoggerProvider;
    use opentelemetry_sdk::Resource;
    use prost::Message as _;

    use super::*;
    use crate::export::client::Deadline;
    use crate::export::report::Signal;
    use crate::export::size::MAX_REQUEST_BYTES;

    /// Records what each export call carried: its records and the size of its request as
    /// opentelemetry-otlp encodes it. Holding `gate` holds every export.
    #[derive(Clone, Debug, Default)]
    struct Recording {
        calls: Arc<Mutex<Vec<Call>>>,
        gate: Arc<Mutex<()>>,
        panics: bool,
    }

    #[derive(Clone, Copy, Debug)]
    struct Call {
        records: usize,
        encoded: usize,
    }

    impl Recording {
        fn calls(&self) -> Vec<Call> {
            self.calls.lock().unwrap().clone()
        }

        fn records(&self) -> usize {
            self.calls().iter().map(|call| call.records).sum()
        }
    }

    impl LogExporter for Recording {
        async fn export(&self, batch: LogBatch<'_>) -> OTelSdkResult {
            drop(self.gate.lock());
            assert!(!self.panics, "the exporter's bug");
            let resource = Resource::builder_empty()
                .with_attributes(resource())
                .build();
            let encoded = ExportLogsServiceRequest {
                resource_logs: group_logs_by_resource_and_scope(
                    &batch,
                    &ResourceAttributesWithSchema::from(&resource),
                ),
            }
            .encoded_len();
            let records = batch.iter().count();
            self.calls.lock().unwrap().push(Call { records, encoded });
            Ok(())
        }
    }

    fn resource() -> Vec<KeyValue> {
        vec![KeyValue::new("service.name", "checkout")]
    }

    fn start(
        exporter: &Recording,
        max_queue_size: usize,
        max_export_batch_size: usize,
    ) -> (LogBatchProcessor, Arc<Report>) {
        let report = Arc::new(Report::new(Signal::Logs));
        let target = ExportTarget {
            exporter: exporter.clone(),
            resource: resource(),
            deadline: Arc::new(Deadline::default()),
        };
        let config = BatchConfig {
            max_queue_size,
            max_export_batch_size,
            // Only a full batch, flush or shutdown exports.
            schedule_delay: Duration::from_secs(3600),
            export_timeout: Duration::from_secs(5),
            max_request_bytes: MAX_REQUEST_BYTES,
        };
        let processor = LogBatchProcessor::start(target, config, Arc::clone(&report));
        (processor, report)
    }

    /// Emits a record whose body is `body_len` bytes of text.
    fn emit(processor: &LogBatchProcessor, provider: &SdkLoggerProvider, body_len: usize) {
        let mut record = provider.logger("test").create_log_record();
        record.set_observed_timestamp(SystemTime::now());
        record.set_target("shop::orders");
        record.set_body("x".repeat(body_len).into());
        processor.emit(&mut record, &InstrumentationScope::builder("test").build());
    }

    #[test]
    fn a_burst_beyond_the_queue_drops_and_counts_without_blocking() {
        let exporter = Recording::default();
        let (processor, report) = start(&exporter, 16, 4);
        let provider = SdkLoggerProvider::builder().build();
        let held = exporter.gate.lock().unwrap();
        let started = Instant::now();
        for _ in 0..10_000 {
            emit(&processor, &provider, 10);
        }
        let elapsed = started.elapsed();
        // At most the queue and the batch being exported got in.
        let dropped = report.stats().dropped_queue_full;
        drop(held);
        assert!(
            elapsed < Duration::from_secs(2),
            "emitting took {elapsed:?}"
        );
        assert!(dropped >= 10_000 - 16 - 4, "{dropped} dropped");
        processor.force_flush().unwrap();
        let stats = report.stats();
        assert_eq!(stats.exported + stats.dropped_queue_full, 10_000);
        assert_eq!(stats.exported, exporter.records() as u64);
    }

    #[test]
    fn a_batch_over_the_request_limit_is_split_into_requests_under_it() {
        let exporter = Recording::default();
        let (processor, report) = start(&exporter, 100, 512);
        let provider = SdkLoggerProvider::builder().build();
        for _ in 0..40 {
            emit(&processor, &provider, 200_000); // 8 MB in all
        }
        processor.force_flush().unwrap();
        let calls = exporter.calls();
        assert!(calls.len() >= 3, "{calls:?}");
        for call in &calls {
            assert!(call.encoded <= MAX_REQUEST_BYTES, "{calls:?}");
        }
        assert_eq!(exporter.records(), 40);
        assert_eq!(report.stats().exported, 40);
        assert_eq!(report.stats().dropped(), 0);
    }

    #[test]
    fn a_record_over_the_limit_is_dropped_and_reported() {
        let exporter = Recording::default();
        let (processor, report) = start(&exporter, 100, 512);
        let provider = SdkLoggerProvider::builder().build();
        emit(&processor, &provider, 10);
        emit(&processor, &provider, MAX_REQUEST_BYTES);
        emit(&processor, &provider, 10);
        processor.force_flush().unwrap();
        assert_eq!(exporter.records(), 2);
        let stats = report.stats();
        assert_eq!((stats.exported, stats.dropped_export_failed), (2, 1));
        let printed = report.printed();
        assert_eq!(printed.len(), 1, "{printed:?}");
        assert!(
            printed[0].starts_with(
                "mackerel-trace: dropped 1 log records because export failed: a log record of up to"
            ),
            "{printed:?}"
        );
    }

    #[test]
    fn flush_exports_everything_queued() {
        let exporter = Recording::default();
        let (processor, report) = start(&exporter, 1_000, 512);
        let provider = SdkLoggerProvider::builder().build();
        for _ in 0..300 {
            emit(&processor, &provider, 100);
        }
        assert_eq!(exporter.records(), 0);
        processor.force_flush().unwrap();
        assert_eq!(exporter.records(), 300);
        assert_eq!(report.stats().exported, 300);
    }

    #[test]
    fn shutdown_exports_what_is_queued_and_later_records_are_counted_drops() {
        let exporter = Recording::default();
        let (processor, report) = start(&exporter, 100, 512);
        let provider = SdkLoggerProvider::builder().build();
        for _ in 0..10 {
            emit(&processor, &provider, 100);
        }
        let started = Instant::now();
        processor
            .shutdown_with_timeout(Duration::from_secs(5))
            .unwrap();
        assert!(started.elapsed() < Duration::from_secs(5));
        assert_eq!(exporter.records(), 10);
        emit(&processor, &provider, 100);
        assert_eq!(report.stats().dropped_queue_full, 1);
    }

    #[test]
    fn shutdown_gives_up_at_its_timeout_when_the_export_hangs() {
        let exporter = Recording::default();
        let (processor, _report) = start(&exporter, 100, 1);
        let provider = SdkLoggerProvider::builder().build();
        let held = exporter.gate.lock().unwrap();
        emit(&processor, &provider, 100);
        let started = Instant::now();
        let result = processor.shutdown_with_timeout(Duration::from_millis(200));
        let elapsed = started.elapsed();
        drop(held);
        assert!(result.is_err());
        assert!(
            (Duration::from_millis(200)..Duration::from_secs(2)).contains(&elapsed),
            "{elapsed:?}"
        );
    }

    #[test]
    fn an_exporter_panic_costs_its_records_only() {
        let exporter = Recording {
            panics: true,
            ..Recording::default()
        };
        let (processor, report) = start(&exporter, 100, 512);
        let provider = SdkLoggerProvider::builder().build();
        for _ in 0..3 {
            emit(&processor, &provider, 100);
        }
        processor.force_flush().unwrap();
        assert_eq!(report.stats().dropped_export_failed, 3);
        processor
            .shutdown_with_timeout(Duration::from_secs(5))
            .unwrap();
    }
}
