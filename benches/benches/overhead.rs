//! Per-call cost of instrumenting `fn work(id: u64, name: &str) -> Result<u64, E>`, side by side:
//! bare, hand-written OpenTelemetry, `#[traced]`, `tracing::instrument` + `tracing-opentelemetry`,
//! and `fastrace::trace` — all reporting into the same kind of sink — plus the paths where
//! tracing is off, the async versions, the `Err` path and a 10-deep tree.
//!
//! `cargo bench -p mackerel-trace-benches --bench overhead`

use std::hint::black_box;

use divan::Bencher;
use mackerel_trace::opentelemetry::trace::{Span as _, Tracer as _, TracerProvider as _};
use mackerel_trace::opentelemetry::KeyValue;
use mackerel_trace_benches::discarding_provider;
use tracing_subscriber::layer::SubscriberExt as _;

fn main() {
    divan::main();
}

#[derive(Debug)]
struct WorkError;

impl std::fmt::Display for WorkError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("work failed")
    }
}

impl std::error::Error for WorkError {}

#[inline(never)]
fn body(id: u64, name: &str) -> Result<u64, WorkError> {
    if id == u64::MAX {
        return Err(WorkError);
    }
    Ok(id.wrapping_mul(31) ^ name.len() as u64)
}

mod bare {
    use super::{body, WorkError};

    #[inline(never)]
    pub fn work(id: u64, name: &str) -> Result<u64, WorkError> {
        body(id, name)
    }

    #[inline(never)]
    pub async fn work_async(id: u64, name: &str) -> Result<u64, WorkError> {
        body(id, name)
    }
}

mod traced {
    use super::{body, WorkError};
    use mackerel_trace::traced;

    #[traced(record(id, name))]
    #[inline(never)]
    pub fn work(id: u64, name: &str) -> Result<u64, WorkError> {
        body(id, name)
    }

    #[traced(record(id, name))]
    #[inline(never)]
    pub async fn work_async(id: u64, name: &str) -> Result<u64, WorkError> {
        body(id, name)
    }

    #[traced(record(depth))]
    #[inline(never)]
    pub fn nested(depth: u32) -> u32 {
        if depth == 0 {
            0
        } else {
            nested(depth - 1) + 1
        }
    }
}

mod manual {
    use super::{body, WorkError};
    use mackerel_trace::opentelemetry::trace::{Span as _, Tracer as _};
    use mackerel_trace::opentelemetry::KeyValue;
    use mackerel_trace::opentelemetry_sdk::trace::SdkTracer;

    /// What a careful user writes by hand: start, two attributes, end.
    #[inline(never)]
    pub fn work(tracer: &SdkTracer, id: u64, name: &str) -> Result<u64, WorkError> {
        let mut span = tracer.start("work");
        span.set_attribute(KeyValue::new("id", id as i64));
        span.set_attribute(KeyValue::new("name", name.to_owned()));
        let result = body(id, name);
        span.end();
        result
    }
}

mod with_tracing {
    use super::{body, WorkError};

    #[tracing::instrument]
    #[inline(never)]
    pub fn work(id: u64, name: &str) -> Result<u64, WorkError> {
        body(id, name)
    }

    #[tracing::instrument(err)]
    #[inline(never)]
    pub fn work_err(id: u64, name: &str) -> Result<u64, WorkError> {
        body(id, name)
    }

    #[tracing::instrument]
    #[inline(never)]
    pub async fn work_async(id: u64, name: &str) -> Result<u64, WorkError> {
        body(id, name)
    }
}

mod with_fastrace {
    use super::{body, WorkError};

    #[fastrace::trace]
    #[inline(never)]
    pub fn work(id: u64, name: &str) -> Result<u64, WorkError> {
        body(id, name)
    }
}

const ID: u64 = 42;
const NAME: &str = "work-item";

// ---- sync, Ok path ----

#[divan::bench]
fn sync_bare(bencher: Bencher) {
    bencher.bench_local(|| bare::work(black_box(ID), black_box(NAME)));
}

#[divan::bench]
fn sync_manual_otel(bencher: Bencher) {
    let provider = discarding_provider();
    let tracer = provider.tracer("bench");
    bencher.bench_local(|| manual::work(&tracer, black_box(ID), black_box(NAME)));
    let _ = provider.shutdown();
}

#[divan::bench]
fn sync_traced(bencher: Bencher) {
    let provider = discarding_provider();
    mackerel_trace::set_tracer_provider(provider.clone());
    bencher.bench_local(|| traced::work(black_box(ID), black_box(NAME)));
    let _ = provider.shutdown();
    off();
}

#[divan::bench]
fn sync_tracing_opentelemetry(bencher: Bencher) {
    let provider = discarding_provider();
    let layer = tracing_opentelemetry::layer().with_tracer(provider.tracer("bench"));
    let subscriber = tracing_subscriber::registry().with(layer);
    tracing::subscriber::with_default(subscriber, || {
        bencher.bench_local(|| with_tracing::work(black_box(ID), black_box(NAME)));
    });
    let _ = provider.shutdown();
}

#[divan::bench]
fn sync_fastrace(bencher: Bencher) {
    fastrace::set_reporter(DiscardingReporter, fastrace::collector::Config::default());
    let root = fastrace::Span::root("root", fastrace::prelude::SpanContext::random());
    let _parent = root.set_local_parent();
    bencher.bench_local(|| with_fastrace::work(black_box(ID), black_box(NAME)));
}

// ---- sync, Err path ----

#[divan::bench]
fn err_manual_otel(bencher: Bencher) {
    let provider = discarding_provider();
    let tracer = provider.tracer("bench");
    bencher.bench_local(|| {
        let mut span = tracer.start("work");
        span.set_attribute(KeyValue::new("id", u64::MAX as i64));
        span.set_attribute(KeyValue::new("name", NAME.to_owned()));
        let result = body(black_box(u64::MAX), black_box(NAME));
        if let Err(err) = &result {
            span.record_error(err);
            span.set_status(mackerel_trace::opentelemetry::trace::Status::error(
                err.to_string(),
            ));
        }
        span.end();
        result
    });
    let _ = provider.shutdown();
}

#[divan::bench]
fn err_traced(bencher: Bencher) {
    let provider = discarding_provider();
    mackerel_trace::set_tracer_provider(provider.clone());
    bencher.bench_local(|| traced::work(black_box(u64::MAX), black_box(NAME)));
    let _ = provider.shutdown();
    off();
}

#[divan::bench]
fn err_tracing_opentelemetry(bencher: Bencher) {
    let provider = discarding_provider();
    let layer = tracing_opentelemetry::layer().with_tracer(provider.tracer("bench"));
    let subscriber = tracing_subscriber::registry().with(layer);
    tracing::subscriber::with_default(subscriber, || {
        bencher.bench_local(|| with_tracing::work_err(black_box(u64::MAX), black_box(NAME)));
    });
    let _ = provider.shutdown();
}

// ---- tracing off ----

#[divan::bench]
fn off_traced_no_pipeline(bencher: Bencher) {
    off();
    bencher.bench_local(|| traced::work(black_box(ID), black_box(NAME)));
}

#[divan::bench]
fn off_traced_sdk_disabled(bencher: Bencher) {
    let guard = mackerel_trace::Config::new()
        .with_env_vars([("OTEL_SDK_DISABLED", "true")])
        .init()
        .unwrap();
    bencher.bench_local(|| traced::work(black_box(ID), black_box(NAME)));
    drop(guard);
}

#[divan::bench]
fn off_traced_always_off(bencher: Bencher) {
    let guard = mackerel_trace::Config::new()
        .with_env_vars([
            ("OTEL_TRACES_SAMPLER", "always_off"),
            ("OTEL_TRACES_EXPORTER", "console"),
        ])
        .init()
        .unwrap();
    bencher.bench_local(|| traced::work(black_box(ID), black_box(NAME)));
    drop(guard);
}

#[divan::bench]
fn off_traced_sampled_out_by_ratio(bencher: Bencher) {
    let provider = mackerel_trace::opentelemetry_sdk::trace::SdkTracerProvider::builder()
        .with_sampler(mackerel_trace::opentelemetry_sdk::trace::Sampler::TraceIdRatioBased(0.0))
        .build();
    mackerel_trace::set_tracer_provider(provider.clone());
    bencher.bench_local(|| traced::work(black_box(ID), black_box(NAME)));
    let _ = provider.shutdown();
    off();
}

#[divan::bench]
fn off_manual_otel_noop_global(bencher: Bencher) {
    let tracer = mackerel_trace::opentelemetry::global::tracer("bench");
    bencher.bench_local(|| {
        let mut span = tracer.start("work");
        span.set_attribute(KeyValue::new("id", ID as i64));
        span.set_attribute(KeyValue::new("name", NAME.to_owned()));
        let result = body(black_box(ID), black_box(NAME));
        span.end();
        result
    });
}

#[divan::bench]
fn off_tracing_no_subscriber(bencher: Bencher) {
    bencher.bench_local(|| with_tracing::work(black_box(ID), black_box(NAME)));
}

// ---- async on a current-thread runtime ----

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap()
}

#[divan::bench]
fn async_bare(bencher: Bencher) {
    let rt = runtime();
    bencher.bench_local(|| rt.block_on(bare::work_async(black_box(ID), black_box(NAME))));
}

#[divan::bench]
fn async_manual_otel(bencher: Bencher) {
    use mackerel_trace::opentelemetry::trace::FutureExt as _;
    let provider = discarding_provider();
    let tracer = provider.tracer("bench");
    let rt = runtime();
    bencher.bench_local(|| {
        let mut span = tracer.start("work");
        span.set_attribute(KeyValue::new("id", ID as i64));
        span.set_attribute(KeyValue::new("name", NAME.to_owned()));
        let cx = mackerel_trace::opentelemetry::trace::TraceContextExt::current_with_span(span);
        rt.block_on(bare::work_async(black_box(ID), black_box(NAME)).with_context(cx))
    });
    let _ = provider.shutdown();
}

#[divan::bench]
fn async_traced(bencher: Bencher) {
    let provider = discarding_provider();
    mackerel_trace::set_tracer_provider(provider.clone());
    let rt = runtime();
    bencher.bench_local(|| rt.block_on(traced::work_async(black_box(ID), black_box(NAME))));
    let _ = provider.shutdown();
    off();
}

#[divan::bench]
fn async_tracing_opentelemetry(bencher: Bencher) {
    let provider = discarding_provider();
    let layer = tracing_opentelemetry::layer().with_tracer(provider.tracer("bench"));
    let subscriber = tracing_subscriber::registry().with(layer);
    let rt = runtime();
    tracing::subscriber::with_default(subscriber, || {
        bencher
            .bench_local(|| rt.block_on(with_tracing::work_async(black_box(ID), black_box(NAME))));
    });
    let _ = provider.shutdown();
}

// ---- a 10-deep tree ----

#[divan::bench]
fn tree10_traced(bencher: Bencher) {
    let provider = discarding_provider();
    mackerel_trace::set_tracer_provider(provider.clone());
    bencher.bench_local(|| traced::nested(black_box(9)));
    let _ = provider.shutdown();
    off();
}

#[divan::bench]
fn tree10_manual_otel(bencher: Bencher) {
    let provider = discarding_provider();
    let tracer = provider.tracer("bench");
    fn nested(tracer: &mackerel_trace::opentelemetry_sdk::trace::SdkTracer, depth: u32) -> u32 {
        tracer.in_span("nested", |_| {
            if depth == 0 {
                0
            } else {
                nested(tracer, depth - 1) + 1
            }
        })
    }
    bencher.bench_local(|| nested(&tracer, black_box(9)));
    let _ = provider.shutdown();
}

/// Turns `#[traced]` off again after a benchmark installed a provider.
fn off() {
    let guard = mackerel_trace::Config::new()
        .with_env_vars([("OTEL_SDK_DISABLED", "true")])
        .init()
        .unwrap();
    assert!(!guard.is_enabled());
}

struct DiscardingReporter;

impl fastrace::collector::Reporter for DiscardingReporter {
    fn report(&mut self, spans: Vec<fastrace::collector::SpanRecord>) {
        drop(spans);
    }
}
