//! [`Settings`] → a running tracer provider: exporter, processor, sampler, resource,
//! propagators, installed where `#[traced]` and the OpenTelemetry globals look.

use std::sync::Arc;

use opentelemetry_sdk::trace::{self as sdktrace, SdkTracerProvider};
use opentelemetry_sdk::Resource;

use crate::console::{ConsoleExporter, ConsoleProcessor};
use crate::export::batch::{BatchConfig, BatchProcessor, ExportTarget};
use crate::export::client::{Client, Deadline};
use crate::export::report::{Report, Signal};
use crate::export::size::MAX_REQUEST_BYTES;
use crate::settings::{Destination, Sampler, Settings};
use crate::Guard;

/// Starts exporting as `settings` say and installs the provider. With tracing off, nothing is
/// started and the guard is inert.
pub(crate) fn start(settings: &Settings) -> Guard {
    crate::propagation::install(&settings.propagators);
    if let Some(notice) = settings.notice {
        eprintln!("mackerel-trace: {notice}");
    }
    let resource = Resource::builder_empty()
        .with_attributes(settings.resource.iter().cloned())
        .build();
    let console = (settings.is_enabled() && matches!(settings.destination(), Destination::Console))
        .then(ConsoleExporter::new);
    // Log records go their own way: on with spans off (`OTEL_TRACES_EXPORTER=none`), and the
    // other way round. On the console, they print under their spans.
    #[cfg(feature = "logs")]
    let logs = crate::logs::start(
        settings,
        &resource,
        console.as_ref().map(ConsoleExporter::log_processor),
    );
    let guard = start_traces(settings, resource, console);
    #[cfg(feature = "logs")]
    let guard = guard.with_logs(logs);
    guard
}

/// `console` is the exporter to print spans with when they go to the console.
fn start_traces(
    settings: &Settings,
    resource: Resource,
    console: Option<ConsoleExporter>,
) -> Guard {
    if !settings.is_enabled() {
        // Off means off, even if a provider was installed before.
        crate::tracer::clear_tracer();
        return Guard::inert();
    }
    let report = Arc::new(Report::new(Signal::Spans));
    let builder = SdkTracerProvider::builder()
        .with_sampler(sampler(settings.sampler))
        .with_resource(resource.clone());
    #[cfg(feature = "lambda")]
    let mut flusher = None;
    let mut fast = None;
    let builder = match settings.destination() {
        Destination::Console => builder.with_span_processor(ConsoleProcessor::new(
            console.unwrap_or_else(ConsoleExporter::new),
        )),
        Destination::Mackerel | Destination::Endpoint(_) => {
            let endpoint = settings.endpoint().unwrap_or_default();
            let deadline = Arc::new(Deadline::default());
            let client = Client::new(
                settings,
                endpoint,
                Arc::clone(&deadline),
                Arc::clone(&report),
            );
            let mut exporter = match otlp_exporter(settings, endpoint, client) {
                Ok(exporter) => exporter,
                Err(err) => {
                    eprintln!(
                        "mackerel-trace: could not build the OTLP exporter ({err}); tracing is off"
                    );
                    crate::tracer::clear_tracer();
                    return Guard::inert();
                }
            };
            opentelemetry_sdk::trace::SpanExporter::set_resource(&mut exporter, &resource);
            let target = ExportTarget {
                exporter,
                resource: settings.resource.clone(),
                deadline,
            };
            let processor = BatchProcessor::start(
                target,
                BatchConfig {
                    max_queue_size: settings.max_queue_size,
                    max_export_batch_size: settings.max_export_batch_size,
                    schedule_delay: settings.schedule_delay,
                    export_timeout: settings.export_timeout.min(settings.bsp_export_timeout),
                    max_request_bytes: MAX_REQUEST_BYTES,
                },
                Arc::clone(&report),
            );
            #[cfg(feature = "lambda")]
            {
                flusher = Some(processor.flusher());
            }
            // `#[traced]` spans skip the SDK's per-span machinery into the same exporter.
            fast = Some(crate::fast::Pipeline::new(
                settings.sampler,
                Arc::clone(&report),
                processor.nudger(),
                settings.max_queue_size,
                settings.max_export_batch_size,
            ));
            builder.with_span_processor(processor)
        }
        Destination::Off(_) => return Guard::inert(),
    };
    let provider = builder.build();
    crate::tracer::set_tracer_provider(provider.clone());
    #[cfg(feature = "lambda")]
    if let Some(flusher) = flusher {
        crate::tracer::set_flusher(flusher);
    }
    let fast = fast.map(crate::fast::install);
    Guard::new(
        provider,
        fast,
        settings.shutdown_timeout,
        report,
        settings.exit_hint,
    )
}

/// The stock OTLP/HTTP exporter with every value set explicitly, so that what it would read
/// from the environment by itself cannot differ from what `Config` resolved: endpoint,
/// protocol and timeout are the builder's (which win over its variables), and the client
/// sends only the body and content type it is given (not the headers it read from
/// `OTEL_EXPORTER_OTLP_HEADERS`). Built without `gzip-http`, it compresses nothing itself
/// (a compression variable is ignored there); the client compresses as `Settings` say.
fn otlp_exporter(
    settings: &Settings,
    endpoint: &str,
    client: Client,
) -> Result<opentelemetry_otlp::SpanExporter, opentelemetry_otlp::ExporterBuildError> {
    use opentelemetry_otlp::{WithExportConfig as _, WithHttpConfig as _};
    opentelemetry_otlp::SpanExporter::builder()
        .with_http()
        .with_endpoint(endpoint)
        .with_protocol(opentelemetry_otlp::Protocol::HttpBinary)
        .with_timeout(settings.export_timeout.min(settings.bsp_export_timeout))
        .with_http_client(client)
        .with_retry_policy(opentelemetry_otlp::RetryPolicy::recommended())
        // Requests are already cut at 3.5 MiB; this is only the exporter's own safety net.
        .with_max_request_body_size(MAX_REQUEST_BYTES * 2)
        .build()
}

fn sampler(sampler: Sampler) -> sdktrace::Sampler {
    use sdktrace::Sampler as Sdk;
    match sampler {
        Sampler::AlwaysOn => Sdk::AlwaysOn,
        Sampler::AlwaysOff => Sdk::AlwaysOff,
        Sampler::TraceIdRatio(ratio) => Sdk::TraceIdRatioBased(ratio),
        Sampler::ParentBasedAlwaysOn => Sdk::ParentBased(Box::new(Sdk::AlwaysOn)),
        Sampler::ParentBasedAlwaysOff => Sdk::ParentBased(Box::new(Sdk::AlwaysOff)),
        Sampler::ParentBasedTraceIdRatio(ratio) => {
            Sdk::ParentBased(Box::new(Sdk::TraceIdRatioBased(ratio)))
        }
    }
}
