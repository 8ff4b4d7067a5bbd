//! Per-call cost of instrumenting `fn work(id: u64, name: &str) -> Result<u64, E>`, side by side:
//! bare, hand-written OpenTelemetry, `#[traced]`, `tracing::instrument` + `tracing-opentelemetry`,
//! and `fastrace::trace` — all reporting into the same kind of sink — plus the paths where
//! tracing is off, the async versions, the `Err` path and a 10-deep tree.
//!
//! The functions and each variant's setup live in the bench crate's library
//! (`src/work.rs`, `src/variants.rs`), shared with the instruction-count binary
//! (`src/bin/calls.rs`, run by `benches/callgrind.sh`).
//!
//! `cargo bench -p mackerel-trace-benches --bench overhead`

use divan::Bencher;
use mackerel_trace_benches::variants::{self, Loop, Variant};

fn main() {
    divan::main();
}

/// Repeats the variant's call under divan's timer.
struct Divan<'a, 'b>(Bencher<'a, 'b>);

impl Loop for Divan<'_, '_> {
    fn run<O, F: FnMut() -> O>(self, call: F) {
        self.0.bench_local(call);
    }
}

fn bench(variant: Variant, bencher: Bencher) {
    variants::run(variant, Divan(bencher));
}

// ---- sync, Ok path ----

#[divan::bench]
fn sync_bare(bencher: Bencher) {
    bench(Variant::SyncBare, bencher);
}

#[divan::bench]
fn sync_manual_otel(bencher: Bencher) {
    bench(Variant::SyncManualOtel, bencher);
}

#[divan::bench]
fn sync_manual_otel_same_work(bencher: Bencher) {
    bench(Variant::SyncManualOtelSameWork, bencher);
}

#[divan::bench]
fn sync_traced(bencher: Bencher) {
    bench(Variant::SyncTraced, bencher);
}

#[divan::bench]
fn sync_tracing_opentelemetry(bencher: Bencher) {
    bench(Variant::SyncTracingOpentelemetry, bencher);
}

#[divan::bench]
fn sync_fastrace(bencher: Bencher) {
    bench(Variant::SyncFastrace, bencher);
}

#[divan::bench]
fn sync_otel_context_floor(bencher: Bencher) {
    bench(Variant::SyncOtelContextFloor, bencher);
}

#[divan::bench]
fn sync_otel_context_floor_not_recording(bencher: Bencher) {
    bench(Variant::SyncOtelContextFloorNotRecording, bencher);
}

// ---- sync, Err path ----

#[divan::bench]
fn err_bare(bencher: Bencher) {
    bench(Variant::ErrBare, bencher);
}

#[divan::bench]
fn err_manual_otel(bencher: Bencher) {
    bench(Variant::ErrManualOtel, bencher);
}

#[divan::bench]
fn err_manual_otel_same_work(bencher: Bencher) {
    bench(Variant::ErrManualOtelSameWork, bencher);
}

#[divan::bench]
fn err_traced(bencher: Bencher) {
    bench(Variant::ErrTraced, bencher);
}

#[divan::bench]
fn err_tracing_opentelemetry(bencher: Bencher) {
    bench(Variant::ErrTracingOpentelemetry, bencher);
}

// ---- tracing off ----

#[divan::bench]
fn off_traced_no_pipeline(bencher: Bencher) {
    bench(Variant::OffTracedNoPipeline, bencher);
}

#[divan::bench]
fn off_traced_sdk_disabled(bencher: Bencher) {
    bench(Variant::OffTracedSdkDisabled, bencher);
}

#[divan::bench]
fn off_traced_exporter_none(bencher: Bencher) {
    bench(Variant::OffTracedExporterNone, bencher);
}

#[divan::bench]
fn off_traced_always_off(bencher: Bencher) {
    bench(Variant::OffTracedAlwaysOff, bencher);
}

#[divan::bench]
fn off_traced_sampled_out_by_ratio(bencher: Bencher) {
    bench(Variant::OffTracedSampledOutByRatio, bencher);
}

#[divan::bench]
fn off_manual_otel_noop_global(bencher: Bencher) {
    bench(Variant::OffManualOtelNoopGlobal, bencher);
}

#[divan::bench]
fn off_tracing_no_subscriber(bencher: Bencher) {
    bench(Variant::OffTracingNoSubscriber, bencher);
}

// ---- async on a current-thread runtime ----

#[divan::bench]
fn async_bare(bencher: Bencher) {
    bench(Variant::AsyncBare, bencher);
}

#[divan::bench]
fn async_manual_otel(bencher: Bencher) {
    bench(Variant::AsyncManualOtel, bencher);
}

#[divan::bench]
fn async_traced(bencher: Bencher) {
    bench(Variant::AsyncTraced, bencher);
}

#[divan::bench]
fn async_tracing_opentelemetry(bencher: Bencher) {
    bench(Variant::AsyncTracingOpentelemetry, bencher);
}

// ---- a 10-deep tree ----

#[divan::bench]
fn tree10_traced(bencher: Bencher) {
    bench(Variant::Tree10Traced, bencher);
}

#[divan::bench]
fn tree10_manual_otel(bencher: Bencher) {
    bench(Variant::Tree10ManualOtel, bencher);
}

// ---- logs: one `tracing::info!` with two fields as a log record ----

#[divan::bench]
fn log_event_ours(bencher: Bencher) {
    bench(Variant::LogEventOurs, bencher);
}

#[divan::bench]
fn log_event_appender_tracing(bencher: Bencher) {
    bench(Variant::LogEventAppender, bencher);
}

#[divan::bench]
fn log_event_ours_filtered_out(bencher: Bencher) {
    bench(Variant::LogEventFilteredOut, bencher);
}

#[divan::bench]
fn log_event_no_subscriber(bencher: Bencher) {
    bench(Variant::LogEventNoSubscriber, bencher);
}
