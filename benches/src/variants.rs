//! Every measured variant: its setup, the call that is repeated, and its teardown.
//!
//! [`run`] hands the repeated call to a [`Loop`]: divan's `Bencher` in `benches/overhead.rs`,
//! a counted loop in `src/bin/calls.rs`. Both therefore measure the same call after the same
//! setup.

use std::hint::black_box;

use mackerel_trace::opentelemetry::trace::{FutureExt as _, Span as _, TraceContextExt};
use mackerel_trace::opentelemetry::trace::{Tracer as _, TracerProvider as _};
use mackerel_trace::opentelemetry::KeyValue;
use mackerel_trace::opentelemetry_sdk::trace::{Sampler, SdkTracerProvider};
use tracing_subscriber::layer::SubscriberExt as _;

use crate::discarding_logger_provider;
use crate::work::{bare, context_floor, log_event, manual, traced, with_fastrace, with_tracing};
use crate::{discarding_provider, QUEUE_SIZE};

/// The arguments every variant calls `work` with.
pub const ID: u64 = 42;
pub const NAME: &str = "work-item";
/// `id` that makes `work` return `Err`.
pub const ERR_ID: u64 = 0xDEAD;

/// Repeats one call: divan's bencher, or a plain counted loop.
pub trait Loop {
    fn run<O, F: FnMut() -> O>(self, call: F);
}

macro_rules! variants {
    ($($variant:ident => $name:literal, $spans:literal;)*) => {
        /// A measured variant; its name is the divan benchmark's name.
        #[derive(Clone, Copy, Debug, PartialEq, Eq)]
        pub enum Variant {
            $($variant,)*
        }

        impl Variant {
            pub const ALL: &'static [Variant] = &[$(Variant::$variant,)*];

            pub fn name(self) -> &'static str {
                match self {
                    $(Variant::$variant => $name,)*
                }
            }

            /// Spans recorded per call when the variant records any.
            pub fn spans_per_call(self) -> usize {
                match self {
                    $(Variant::$variant => $spans,)*
                }
            }
        }
    };
}

variants! {
    SyncBare => "sync_bare", 0;
    SyncManualOtel => "sync_manual_otel", 1;
    SyncManualOtelSameWork => "sync_manual_otel_same_work", 1;
    SyncTraced => "sync_traced", 1;
    SyncTracedSdkProvider => "sync_traced_sdk_provider", 1;
    SyncTracedUnderBridge => "sync_traced_under_bridge", 1;
    SyncTracingOpentelemetry => "sync_tracing_opentelemetry", 1;
    SyncTracingBridge => "sync_tracing_bridge", 1;
    SyncFastrace => "sync_fastrace", 1;
    SyncOtelContextFloor => "sync_otel_context_floor", 0;
    SyncOtelContextFloorNotRecording => "sync_otel_context_floor_not_recording", 0;
    ErrBare => "err_bare", 0;
    ErrManualOtel => "err_manual_otel", 1;
    ErrManualOtelSameWork => "err_manual_otel_same_work", 1;
    ErrTraced => "err_traced", 1;
    ErrTracingOpentelemetry => "err_tracing_opentelemetry", 1;
    ErrTracingBridge => "err_tracing_bridge", 1;
    OffTracedNoPipeline => "off_traced_no_pipeline", 0;
    OffTracedSdkDisabled => "off_traced_sdk_disabled", 0;
    OffTracedExporterNone => "off_traced_exporter_none", 0;
    OffTracedAlwaysOff => "off_traced_always_off", 0;
    OffTracedSampledOutByRatio => "off_traced_sampled_out_by_ratio", 0;
    OffManualOtelNoopGlobal => "off_manual_otel_noop_global", 0;
    OffTracingNoSubscriber => "off_tracing_no_subscriber", 0;
    OffTracingBridgeNoPipeline => "off_tracing_bridge_no_pipeline", 0;
    AsyncBare => "async_bare", 0;
    AsyncManualOtel => "async_manual_otel", 1;
    AsyncTraced => "async_traced", 1;
    AsyncTracedUnderBridge => "async_traced_under_bridge", 1;
    AsyncTracingOpentelemetry => "async_tracing_opentelemetry", 1;
    AsyncTracingBridge => "async_tracing_bridge", 1;
    LogEventOurs => "log_event_ours", 0;
    LogEventAppender => "log_event_appender_tracing", 0;
    LogEventFilteredOut => "log_event_ours_filtered_out", 0;
    LogEventNoSubscriber => "log_event_no_subscriber", 0;
    Tree10Traced => "tree10_traced", 10;
    Tree10ManualOtel => "tree10_manual_otel", 10;
}

impl Variant {
    pub fn from_name(name: &str) -> Option<Variant> {
        Variant::ALL.iter().copied().find(|v| v.name() == name)
    }
}

/// Sets `variant` up, repeats its call through `l`, and tears it down again, leaving
/// `#[traced]` off and the OpenTelemetry global provider as it was.
pub fn run<L: Loop>(variant: Variant, l: L) {
    match variant {
        // ---- sync, Ok path ----
        Variant::SyncBare => l.run(|| bare::work(black_box(ID), black_box(NAME))),
        Variant::SyncManualOtel => {
            let provider = discarding_provider();
            let tracer = provider.tracer("bench");
            l.run(|| manual::work(&tracer, black_box(ID), black_box(NAME)));
            let _ = provider.shutdown();
        }
        Variant::SyncManualOtelSameWork => {
            let provider = discarding_provider();
            let tracer = provider.tracer("bench");
            l.run(|| manual::work_same_work(&tracer, black_box(ID), black_box(NAME)));
            let _ = provider.shutdown();
        }
        Variant::SyncTraced => {
            with_traced_provider(|| l.run(|| traced::work(black_box(ID), black_box(NAME))))
        }
        Variant::SyncTracedSdkProvider => {
            with_sdk_provider(|| l.run(|| traced::work(black_box(ID), black_box(NAME))))
        }
        Variant::SyncTracedUnderBridge => with_traced_provider(|| {
            // The bridge layer in the default subscriber: each call also makes and enters the
            // `tracing` mirror of its span (what sqlx's SQLite worker needs).
            with_bridge(|| l.run(|| traced::work(black_box(ID), black_box(NAME))))
        }),
        Variant::SyncTracingOpentelemetry => {
            with_tracing_subscriber(|| l.run(|| with_tracing::work(black_box(ID), black_box(NAME))))
        }
        Variant::SyncTracingBridge => with_traced_provider(|| {
            with_bridge(|| l.run(|| with_tracing::work(black_box(ID), black_box(NAME))))
        }),
        Variant::SyncOtelContextFloor => {
            l.run(|| context_floor::work(black_box(ID), black_box(NAME)))
        }
        Variant::SyncOtelContextFloorNotRecording => {
            l.run(|| context_floor::work_not_recording(black_box(ID), black_box(NAME)))
        }
        Variant::SyncFastrace => {
            fastrace::set_reporter(DiscardingReporter, fastrace::collector::Config::default());
            // fastrace keeps at most 10,240 spans under one local parent and silently skips the
            // rest, so a single parent for the whole run would mostly measure the skip. A new
            // root every FASTRACE_SPANS_PER_ROOT calls keeps every span recorded; the root and
            // the hand-over of its spans to the collector are amortised into the per-call cost.
            let mut left = 0_u32;
            let mut parent = None;
            l.run(|| {
                if left == 0 {
                    end_fastrace_root(parent.take());
                    let root =
                        fastrace::Span::root("root", fastrace::prelude::SpanContext::random());
                    let guard = root.set_local_parent();
                    parent = Some((guard, root));
                    left = FASTRACE_SPANS_PER_ROOT;
                }
                left -= 1;
                with_fastrace::work(black_box(ID), black_box(NAME))
            });
            end_fastrace_root(parent);
        }

        // ---- sync, Err path ----
        Variant::ErrBare => l.run(|| bare::work(black_box(ERR_ID), black_box(NAME))),
        Variant::ErrManualOtel => {
            let provider = discarding_provider();
            let tracer = provider.tracer("bench");
            l.run(|| manual::work_checked(&tracer, black_box(ERR_ID), black_box(NAME)));
            let _ = provider.shutdown();
        }
        Variant::ErrManualOtelSameWork => {
            let provider = discarding_provider();
            let tracer = provider.tracer("bench");
            l.run(|| manual::work_same_work(&tracer, black_box(ERR_ID), black_box(NAME)));
            let _ = provider.shutdown();
        }
        Variant::ErrTraced => {
            with_traced_provider(|| l.run(|| traced::work(black_box(ERR_ID), black_box(NAME))))
        }
        Variant::ErrTracingOpentelemetry => with_tracing_subscriber(|| {
            l.run(|| with_tracing::work_err(black_box(ERR_ID), black_box(NAME)))
        }),

        Variant::ErrTracingBridge => with_traced_provider(|| {
            with_bridge(|| l.run(|| with_tracing::work_err(black_box(ERR_ID), black_box(NAME))))
        }),

        // ---- tracing off ----
        Variant::OffTracedNoPipeline => {
            // Nothing installed: in a fresh process this is the state before any `init`; in the
            // divan suite every other variant uninstalls what it installed.
            l.run(|| traced::work(black_box(ID), black_box(NAME)))
        }
        Variant::OffTracedSdkDisabled => with_env_init(&[("OTEL_SDK_DISABLED", "true")], || {
            l.run(|| traced::work(black_box(ID), black_box(NAME)))
        }),
        Variant::OffTracedExporterNone => {
            with_env_init(&[("OTEL_TRACES_EXPORTER", "none")], || {
                l.run(|| traced::work(black_box(ID), black_box(NAME)))
            })
        }
        Variant::OffTracedAlwaysOff => with_env_init(
            &[
                ("OTEL_TRACES_SAMPLER", "always_off"),
                ("OTEL_TRACES_EXPORTER", "console"),
            ],
            || l.run(|| traced::work(black_box(ID), black_box(NAME))),
        ),
        Variant::OffTracedSampledOutByRatio => {
            let provider = SdkTracerProvider::builder()
                .with_sampler(Sampler::TraceIdRatioBased(0.0))
                .build();
            mackerel_trace::set_tracer_provider(provider.clone());
            l.run(|| traced::work(black_box(ID), black_box(NAME)));
            let _ = provider.shutdown();
            off();
        }
        Variant::OffManualOtelNoopGlobal => {
            // `set_tracer_provider` also sets the global provider; put the no-op one back so
            // this measures what a program with no pipeline gets.
            noop_global();
            let tracer = mackerel_trace::opentelemetry::global::tracer("bench");
            l.run(|| manual::work_with(&tracer, black_box(ID), black_box(NAME)));
        }
        Variant::OffTracingNoSubscriber => {
            l.run(|| with_tracing::work(black_box(ID), black_box(NAME)))
        }

        Variant::OffTracingBridgeNoPipeline => {
            // The layer installed, no pipeline: its filter turns every span away.
            with_bridge(|| l.run(|| with_tracing::work(black_box(ID), black_box(NAME))))
        }

        // ---- async on a current-thread runtime ----
        Variant::AsyncBare => {
            let rt = runtime();
            l.run(|| rt.block_on(bare::work_async(black_box(ID), black_box(NAME))));
        }
        Variant::AsyncManualOtel => {
            let provider = discarding_provider();
            let tracer = provider.tracer("bench");
            let rt = runtime();
            l.run(|| {
                let mut span = tracer.start("work");
                span.set_attribute(KeyValue::new("id", ID as i64));
                span.set_attribute(KeyValue::new("name", NAME.to_owned()));
                let cx = mackerel_trace::opentelemetry::Context::current_with_span(span);
                rt.block_on(bare::work_async(black_box(ID), black_box(NAME)).with_context(cx))
            });
            let _ = provider.shutdown();
        }
        Variant::AsyncTraced => {
            let rt = runtime();
            with_traced_provider(|| {
                l.run(|| rt.block_on(traced::work_async(black_box(ID), black_box(NAME))))
            });
        }
        Variant::AsyncTracedUnderBridge => {
            let rt = runtime();
            with_traced_provider(|| {
                with_bridge(|| {
                    l.run(|| rt.block_on(traced::work_async(black_box(ID), black_box(NAME))))
                })
            });
        }
        Variant::AsyncTracingOpentelemetry => {
            let rt = runtime();
            with_tracing_subscriber(|| {
                l.run(|| rt.block_on(with_tracing::work_async(black_box(ID), black_box(NAME))))
            });
        }

        Variant::AsyncTracingBridge => {
            let rt = runtime();
            with_traced_provider(|| {
                with_bridge(|| {
                    l.run(|| rt.block_on(with_tracing::work_async(black_box(ID), black_box(NAME))))
                })
            });
        }

        // ---- logs: one `tracing::info!` with two fields as a log record ----
        Variant::LogEventOurs => {
            // Our layer into the logger provider, no tracer: the event is a log record only.
            let provider = discarding_logger_provider();
            mackerel_trace::set_logger_provider(provider.clone());
            with_bridge(|| l.run(|| log_event::info(black_box(ID), black_box(NAME))));
            let _ = provider.shutdown();
            off();
        }
        Variant::LogEventAppender => {
            // opentelemetry-appender-tracing's layer into the same kind of provider.
            let provider = discarding_logger_provider();
            let layer =
                opentelemetry_appender_tracing::layer::OpenTelemetryTracingBridge::new(&provider);
            let subscriber = tracing_subscriber::registry().with(layer);
            tracing::subscriber::with_default(subscriber, || {
                l.run(|| log_event::info(black_box(ID), black_box(NAME)))
            });
            let _ = provider.shutdown();
        }
        Variant::LogEventFilteredOut => {
            // Our layer and a logger installed; the event is below the logs filter (`info`).
            let provider = discarding_logger_provider();
            mackerel_trace::set_logger_provider(provider.clone());
            with_bridge(|| l.run(|| log_event::debug(black_box(ID), black_box(NAME))));
            let _ = provider.shutdown();
            off();
        }
        Variant::LogEventNoSubscriber => l.run(|| log_event::debug(black_box(ID), black_box(NAME))),

        // ---- a 10-deep tree ----
        Variant::Tree10Traced => with_traced_provider(|| l.run(|| traced::nested(black_box(9)))),
        Variant::Tree10ManualOtel => {
            let provider = discarding_provider();
            let tracer = provider.tracer("bench");
            l.run(|| manual::nested(&tracer, black_box(9)));
            let _ = provider.shutdown();
        }
    }
}

/// `#[traced]` spans into the discarding provider while `f` runs.
fn with_traced_provider(f: impl FnOnce()) {
    // mackerel-trace's own pipeline, as `init()` and `#[main]` start it, exporting over
    // OTLP/HTTP to a receiver on 127.0.0.1 (other threads: not counted by callgrind.sh).
    let receiver = mackerel_trace::testing::Receiver::start();
    let endpoint = receiver.endpoint();
    let queue = QUEUE_SIZE.to_string();
    let guard = mackerel_trace::Config::new()
        .with_env_vars([
            ("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", endpoint.as_str()),
            ("OTEL_BSP_MAX_QUEUE_SIZE", queue.as_str()),
            ("OTEL_BSP_MAX_EXPORT_BATCH_SIZE", "4096"),
            ("OTEL_BSP_SCHEDULE_DELAY", "50"),
        ])
        .init()
        .expect("bench pipeline");
    f();
    drop(guard);
    off();
}

/// `#[traced]` into an SDK provider of the user's (`set_tracer_provider`): the SDK path.
fn with_sdk_provider(f: impl FnOnce()) {
    let provider = discarding_provider();
    mackerel_trace::set_tracer_provider(provider.clone());
    f();
    let _ = provider.shutdown();
    off();
}

/// `tracing` spans through `tracing-opentelemetry` into the discarding provider while `f` runs.
fn with_tracing_subscriber(f: impl FnOnce()) {
    let provider = discarding_provider();
    let layer = tracing_opentelemetry::layer().with_tracer(provider.tracer("bench"));
    let subscriber = tracing_subscriber::registry().with(layer);
    tracing::subscriber::with_default(subscriber, f);
    let _ = provider.shutdown();
}

/// `tracing` spans through mackerel-trace's bridge layer (to whatever pipeline is installed)
/// while `f` runs.
fn with_bridge(f: impl FnOnce()) {
    let subscriber = tracing_subscriber::registry().with(mackerel_trace::tracing::layer());
    tracing::subscriber::with_default(subscriber, f);
}

/// `mackerel_trace::Config` resolved with `vars` and started while `f` runs.
fn with_env_init(vars: &[(&str, &str)], f: impl FnOnce()) {
    let guard = mackerel_trace::Config::new()
        .with_env_vars(vars.iter().copied())
        .init()
        .expect("bench configuration");
    f();
    drop(guard);
    off();
}

/// Turns `#[traced]` off again after a variant installed a provider, and restores the no-op
/// global provider.
fn off() {
    let guard = mackerel_trace::Config::new()
        .with_env_vars([("OTEL_SDK_DISABLED", "true")])
        .init()
        .expect("OTEL_SDK_DISABLED");
    assert!(!guard.is_enabled());
    noop_global();
}

fn noop_global() {
    mackerel_trace::opentelemetry::global::set_tracer_provider(
        mackerel_trace::opentelemetry::trace::noop::NoopTracerProvider::new(),
    );
}

/// The current-thread runtime the async variants run on.
pub fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("tokio runtime")
}

/// Calls per fastrace root span in [`Variant::SyncFastrace`] (fastrace records at most 10,240
/// spans under one local parent).
pub const FASTRACE_SPANS_PER_ROOT: u32 = 1_000;

fn end_fastrace_root(parent: Option<(fastrace::local::LocalParentGuard, fastrace::Span)>) {
    if let Some((guard, root)) = parent {
        drop(guard);
        drop(root);
    }
}

struct DiscardingReporter;

impl fastrace::collector::Reporter for DiscardingReporter {
    fn report(&mut self, spans: Vec<fastrace::collector::SpanRecord>) {
        drop(spans);
    }
}
