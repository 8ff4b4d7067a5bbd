//! The one place spans go: the tracer installed through mackerel-trace.
//!
//! `#[traced]` expansions read it with a single atomic load, so a program with
//! nothing installed pays one branch per traced call.

use std::sync::atomic::{AtomicPtr, Ordering};

use opentelemetry::trace::TracerProvider as _;
use opentelemetry_sdk::trace::{SdkTracer, SdkTracerProvider};

/// The instrumentation scope every `#[traced]` span is recorded under.
pub(crate) const SCOPE_NAME: &str = "mackerel-trace";

/// The installed tracer, or null when tracing is off.
///
/// Installed tracers are leaked on purpose: installing happens once or a few
/// times per process, and a leaked `&'static` lets the hot path skip any
/// reference counting.
static TRACER: AtomicPtr<SdkTracer> = AtomicPtr::new(std::ptr::null_mut());

/// How the installed pipeline is flushed by a deadline, for the Lambda layer.
#[cfg(feature = "lambda")]
static FLUSH: std::sync::RwLock<Option<Flush>> = std::sync::RwLock::new(None);

/// What flushes the spans of the installed pipeline.
#[cfg(feature = "lambda")]
#[derive(Clone, Debug)]
pub(crate) enum Flush {
    /// Our batch processor's queue: each export is bounded by the deadline too.
    Queue(crate::export::batch::Flusher<opentelemetry_sdk::trace::SpanData>),
    /// A provider installed with [`set_tracer_provider`], or the console's: its `force_flush`.
    Provider(SdkTracerProvider),
}

/// What flushes the installed pipeline, or `None` when nothing is installed.
#[cfg(feature = "lambda")]
pub(crate) fn flush() -> Option<Flush> {
    FLUSH.read().ok()?.clone()
}

/// `#[main]`/`init()`'s pipeline: flushed through its queue rather than its provider.
#[cfg(feature = "lambda")]
pub(crate) fn set_flusher(
    flusher: crate::export::batch::Flusher<opentelemetry_sdk::trace::SpanData>,
) {
    set_flush(Some(Flush::Queue(flusher)));
}

#[cfg(feature = "lambda")]
fn set_flush(flush: Option<Flush>) {
    if let Ok(mut slot) = FLUSH.write() {
        *slot = flush;
    }
}

/// The tracer `#[traced]` spans go to, or `None` when no pipeline is installed.
#[inline]
pub(crate) fn tracer() -> Option<&'static SdkTracer> {
    let ptr = TRACER.load(Ordering::Acquire);
    // SAFETY: non-null pointers stored in TRACER come from `Box::leak` and are never freed.
    unsafe { ptr.as_ref() }
}

/// Sends `#[traced]` spans, and the OpenTelemetry global tracer provider, to `provider`.
///
/// [`init`](crate::init) and `#[mackerel_trace::main]` call this for you; call it yourself
/// when you build your own
/// [`SdkTracerProvider`](https://docs.rs/opentelemetry_sdk/0.33.1/opentelemetry_sdk/trace/struct.SdkTracerProvider.html), for example one with an in-memory exporter in
/// tests. Manual spans made through
/// [`opentelemetry::global`](https://docs.rs/opentelemetry/0.33.1/opentelemetry/global/index.html)
/// land in the same place.
///
/// The caller keeps `provider` and is responsible for shutting it down.
///
/// # Example
///
/// ```
/// use mackerel_trace::opentelemetry_sdk::trace::SdkTracerProvider;
///
/// let provider = SdkTracerProvider::builder().build();
/// mackerel_trace::set_tracer_provider(provider.clone());
/// // ... traced code runs here ...
/// let _ = provider.shutdown();
/// ```
pub fn set_tracer_provider(provider: SdkTracerProvider) {
    // `#[traced]` spans go to this provider, not down a fast path installed before.
    crate::fast::clear();
    install_tracer(provider);
}

/// Installs `provider` as `set_tracer_provider` does, leaving the fast path as it is.
pub(crate) fn install_tracer(provider: SdkTracerProvider) {
    let tracer: &'static mut SdkTracer = Box::leak(Box::new(provider.tracer_with_scope(scope())));
    TRACER.store(tracer, Ordering::Release);
    #[cfg(feature = "lambda")]
    set_flush(Some(Flush::Provider(provider.clone())));
    opentelemetry::global::set_tracer_provider(provider);
    pipeline_changed();
}

/// Starts an integration's span (a server or client request, a query) on `tracer`, child of
/// `parent`, and returns `parent` with it current: down the fast path under mackerel-trace's own
/// pipeline, through the SDK otherwise. `start` is the start time when it is not now.
#[cfg_attr(
    not(any(
        feature = "tower",
        feature = "actix",
        feature = "lambda",
        feature = "reqwest",
        feature = "tracing",
        feature = "diesel",
        feature = "redis"
    )),
    allow(dead_code)
)]
pub(crate) fn start_span(
    tracer: &'static SdkTracer,
    name: impl Into<std::borrow::Cow<'static, str>>,
    kind: opentelemetry::trace::SpanKind,
    attributes: Vec<opentelemetry::KeyValue>,
    start: Option<std::time::SystemTime>,
    parent: &opentelemetry::Context,
) -> opentelemetry::Context {
    use opentelemetry::trace::{TraceContextExt as _, Tracer as _};
    if let Some(pipeline) = crate::fast::pipeline() {
        return crate::fast::start_span(pipeline, name.into(), kind, attributes, start, parent);
    }
    let mut builder = tracer
        .span_builder(name)
        .with_kind(kind)
        .with_attributes(attributes);
    if let Some(start) = start {
        builder = builder.with_start_time(start);
    }
    parent.with_span(builder.start_with_context(tracer, parent))
}

/// The scope `#[traced]` spans are recorded under.
pub(crate) fn scope() -> opentelemetry::InstrumentationScope {
    opentelemetry::InstrumentationScope::builder(SCOPE_NAME)
        .with_version(env!("CARGO_PKG_VERSION"))
        .build()
}

/// Stops sending `#[traced]` spans anywhere; later traced calls cost one branch.
pub(crate) fn clear_tracer() {
    crate::fast::clear();
    TRACER.store(std::ptr::null_mut(), Ordering::Release);
    #[cfg(feature = "lambda")]
    set_flush(None);
    pipeline_changed();
}

/// Tells `tracing` callsites to ask the bridge's filter again: it answers "never" while no
/// pipeline is installed, so that `tracing` spans cost nothing then.
pub(crate) fn pipeline_changed() {
    #[cfg(feature = "tracing")]
    tracing_core::callsite::rebuild_interest_cache();
}
