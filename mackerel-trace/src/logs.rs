//! Logs (feature `logs`): the installed logger that the `tracing` layer emits log records into,
//! as `tracer.rs` holds the tracer — read with one atomic load, so that an event costs one
//! branch more while no logs pipeline is installed.

use std::sync::atomic::{AtomicPtr, Ordering};

use opentelemetry::logs::LoggerProvider as _;
use opentelemetry_sdk::logs::{SdkLogger, SdkLoggerProvider};

use crate::tracer::SCOPE_NAME;

/// The installed logger, or null while no logs pipeline is installed. Leaked on purpose, as
/// the tracer is: installing happens a few times per process at most.
static LOGGER: AtomicPtr<SdkLogger> = AtomicPtr::new(std::ptr::null_mut());

/// The logger `tracing` events go to as log records, or `None` when none is installed.
#[inline]
pub(crate) fn logger() -> Option<&'static SdkLogger> {
    let ptr = LOGGER.load(Ordering::Acquire);
    // SAFETY: non-null pointers stored in LOGGER come from `Box::leak` and are never freed.
    unsafe { ptr.as_ref() }
}

/// Sends the `tracing` layer's log records to `provider` (feature `logs`).
///
/// [`init`](crate::init) and `#[mackerel_trace::main]` do this for you when logs are
/// exported; call it yourself with a provider you built, for example one with an in-memory
/// exporter in tests. The caller keeps `provider` and shuts it down.
///
/// Your processors see each record as the layer emits it, cheap to make on the application's
/// thread: the event's message as the body and its fields as attributes (the shape
/// `opentelemetry-appender-tracing` gives). The pipeline `init` starts folds them into the
/// map body Mackerel's log search reads, on its export thread.
///
/// # Example
///
/// ```
/// use mackerel_trace::opentelemetry_sdk::logs::SdkLoggerProvider;
///
/// let provider = SdkLoggerProvider::builder().build();
/// mackerel_trace::set_logger_provider(provider.clone());
/// // ... `tracing` events through `mackerel_trace::tracing::layer()` become log records ...
/// let _ = provider.shutdown();
/// ```
pub fn set_logger_provider(provider: SdkLoggerProvider) {
    let scope = opentelemetry::InstrumentationScope::builder(SCOPE_NAME)
        .with_version(env!("CARGO_PKG_VERSION"))
        .build();
    let logger: &'static mut SdkLogger = Box::leak(Box::new(provider.logger_with_scope(scope)));
    LOGGER.store(logger, Ordering::Release);
    crate::tracer::pipeline_changed();
}

/// Stops sending log records anywhere.
pub(crate) fn clear_logger() {
    LOGGER.store(std::ptr::null_mut(), Ordering::Release);
    crate::tracer::pipeline_changed();
}

/// A running logs pipeline: what the [`Guard`](crate::Guard) flushes and shuts down.
#[derive(Debug)]
pub(crate) struct RunningLogs {
    pub(crate) provider: SdkLoggerProvider,
    pub(crate) report: std::sync::Arc<crate::export::report::Report>,
}

/// Starts exporting log records as `settings` say and installs the logger; `None` when logs
/// are off (or could not start, said on stderr). `console` prints records under their spans
/// when spans go to the console too.
pub(crate) fn start(
    settings: &crate::Settings,
    resource: &opentelemetry_sdk::Resource,
    console: Option<crate::console::ConsoleLogProcessor>,
) -> Option<RunningLogs> {
    use std::sync::Arc;

    use crate::export::batch::{BatchConfig, ExportTarget, LogBatchProcessor};
    use crate::export::client::{Client, Deadline};
    use crate::export::report::{Report, Signal};
    use crate::export::size::MAX_REQUEST_BYTES;
    use crate::settings::Destination;

    let logs = &settings.logs;
    if let Some(notice) = &logs.notice {
        eprintln!("mackerel-trace: {notice}");
    }
    let report = Arc::new(Report::new(Signal::Logs));
    let builder = SdkLoggerProvider::builder().with_resource(resource.clone());
    let builder = match &logs.destination {
        Destination::Off(_) => {
            clear_logger();
            return None;
        }
        Destination::Console => builder.with_log_processor(
            console.unwrap_or_else(crate::console::ConsoleLogProcessor::standalone),
        ),
        Destination::Mackerel | Destination::Endpoint(_) => {
            let endpoint = settings.logs_endpoint().unwrap_or_default();
            let view = settings.for_logs();
            let deadline = Arc::new(Deadline::default());
            let client = Client::new(&view, endpoint, Arc::clone(&deadline), Arc::clone(&report));
            let export_timeout = logs.export_timeout.min(logs.blrp_export_timeout);
            let exporter = {
                use opentelemetry_otlp::{WithExportConfig as _, WithHttpConfig as _};
                opentelemetry_otlp::LogExporter::builder()
                    .with_http()
                    .with_endpoint(endpoint)
                    .with_protocol(opentelemetry_otlp::Protocol::HttpBinary)
                    .with_timeout(export_timeout)
                    .with_http_client(client)
                    .with_retry_policy(opentelemetry_otlp::RetryPolicy::recommended())
                    .with_max_request_body_size(MAX_REQUEST_BYTES * 2)
                    .build()
            };
            let mut exporter = match exporter {
                Ok(exporter) => exporter,
                Err(err) => {
                    eprintln!(
                        "mackerel-trace: could not build the OTLP log exporter ({err}); logs are off"
                    );
                    clear_logger();
                    return None;
                }
            };
            opentelemetry_sdk::logs::LogExporter::set_resource(&mut exporter, resource);
            builder.with_log_processor(LogBatchProcessor::start(
                ExportTarget {
                    exporter,
                    resource: settings.resource.clone(),
                    deadline,
                },
                BatchConfig {
                    max_queue_size: logs.max_queue_size,
                    max_export_batch_size: logs.max_export_batch_size,
                    schedule_delay: logs.schedule_delay,
                    export_timeout,
                    max_request_bytes: MAX_REQUEST_BYTES,
                },
                Arc::clone(&report),
            ))
        }
    };
    let provider = builder.build();
    set_logger_provider(provider.clone());
    Some(RunningLogs { provider, report })
}
