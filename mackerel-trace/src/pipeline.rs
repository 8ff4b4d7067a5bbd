//! [`Settings`] → a running tracer provider: exporter, processor, sampler, resource,
//! propagators, installed where `#[traced]` and the OpenTelemetry globals look.

use std::sync::Arc;

use opentelemetry::propagation::TextMapCompositePropagator;
use opentelemetry::propagation::TextMapPropagator;
use opentelemetry_sdk::propagation::{BaggagePropagator, TraceContextPropagator};
use opentelemetry_sdk::trace::{self as sdktrace, SdkTracerProvider};
use opentelemetry_sdk::Resource;

use crate::config::{Destination, Propagator, Sampler, Settings};
use crate::console::ConsoleExporter;
use crate::export::batch::{BatchConfig, BatchProcessor};
use crate::export::otlp::OtlpExporter;
use crate::export::report::Report;
use crate::Guard;

/// Starts exporting as `settings` say and installs the provider. With tracing off, nothing is
/// started and the guard is inert.
pub(crate) fn start(settings: &Settings) -> Guard {
    install_propagators(&settings.propagators);
    if let Some(notice) = settings.notice {
        eprintln!("mackerel-trace: {notice}");
    }
    if !settings.is_enabled() {
        // Off means off, even if a provider was installed before.
        crate::install::clear_tracer();
        return Guard::inert();
    }
    let report = Arc::new(Report::new());
    let builder = SdkTracerProvider::builder()
        .with_sampler(sampler(settings.sampler))
        .with_resource(
            Resource::builder_empty()
                .with_attributes(settings.resource.iter().cloned())
                .build(),
        );
    let builder = match settings.destination() {
        Destination::Console => builder.with_simple_exporter(ConsoleExporter::new()),
        Destination::Mackerel | Destination::Endpoint(_) => {
            let endpoint = settings.endpoint().unwrap_or_default().to_owned();
            let exporter = OtlpExporter::new(settings, endpoint);
            builder.with_span_processor(BatchProcessor::start(
                exporter,
                BatchConfig {
                    max_queue_size: settings.max_queue_size,
                    max_export_batch_size: settings.max_export_batch_size,
                    schedule_delay: settings.schedule_delay,
                },
                Arc::clone(&report),
            ))
        }
        Destination::Off(_) => return Guard::inert(),
    };
    let provider = builder.build();
    crate::install::set_tracer_provider(provider.clone());
    Guard::new(provider, settings.shutdown_timeout, report)
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

fn install_propagators(propagators: &[Propagator]) {
    let list: Vec<Box<dyn TextMapPropagator + Send + Sync>> = propagators
        .iter()
        .map(|p| -> Box<dyn TextMapPropagator + Send + Sync> {
            match p {
                Propagator::TraceContext => Box::new(TraceContextPropagator::new()),
                Propagator::Baggage => Box::new(BaggagePropagator::new()),
            }
        })
        .collect();
    opentelemetry::global::set_text_map_propagator(TextMapCompositePropagator::new(list));
}
