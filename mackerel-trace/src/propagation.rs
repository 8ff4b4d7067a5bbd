//! Trace context across process boundaries: W3C `traceparent`/`tracestate` and `baggage` in
//! and out of HTTP headers, with the propagators `OTEL_PROPAGATORS` names.
//!
//! ```
//! use mackerel_trace::opentelemetry::trace::TraceContextExt as _;
//!
//! let mut headers = http::HeaderMap::new();
//! headers.insert(
//!     "traceparent",
//!     "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01".parse().unwrap(),
//! );
//! let remote = mackerel_trace::propagation::extract(&headers);
//! assert!(remote.span().span_context().is_remote());
//!
//! // Continue the remote trace: spans started while the guard lives are its children.
//! let _guard = remote.attach();
//! ```
//!
//! [`init`](crate::init) and `#[mackerel_trace::main]` set the propagators from
//! `OTEL_PROPAGATORS` (default `tracecontext,baggage`, also installed as the OpenTelemetry
//! global) before user code runs. Until then — or when you install your own provider with
//! [`set_tracer_provider`](crate::set_tracer_provider) — these functions use W3C trace context
//! and baggage, the specification's default. They read the propagators on every call, so a
//! layer built before `init()` sees what `init()` set.

use std::sync::{Arc, OnceLock, RwLock};

use http::HeaderMap;
#[cfg(feature = "actix")]
use opentelemetry::propagation::Extractor;
use opentelemetry::propagation::{TextMapCompositePropagator, TextMapPropagator};
use opentelemetry::Context;
use opentelemetry_http::{HeaderExtractor, HeaderInjector};
use opentelemetry_sdk::propagation::{BaggagePropagator, TraceContextPropagator};

use crate::settings::Propagator;

type Shared = Arc<dyn TextMapPropagator + Send + Sync>;

/// The propagators `init()` set; `None` until then (W3C trace context and baggage).
static PROPAGATOR: RwLock<Option<Shared>> = RwLock::new(None);

/// Writes the current context (the current span and baggage) into `headers`.
///
/// ```
/// let mut headers = http::HeaderMap::new();
/// mackerel_trace::propagation::inject(&mut headers);
/// // With no span current there is nothing to send.
/// assert!(headers.get("traceparent").is_none());
/// ```
pub fn inject(headers: &mut HeaderMap) {
    inject_context(&Context::current(), headers);
}

/// Writes `cx` (its span and baggage) into `headers`, replacing values already there.
///
/// ```
/// use mackerel_trace::opentelemetry::trace::{SpanContext, SpanId, TraceContextExt as _, TraceFlags, TraceId, TraceState};
/// use mackerel_trace::opentelemetry::Context;
///
/// let span = SpanContext::new(
///     TraceId::from(0x4bf92f3577b34da6a3ce929d0e0e4736),
///     SpanId::from(0x00f067aa0ba902b7),
///     TraceFlags::SAMPLED,
///     false,
///     TraceState::default(),
/// );
/// let cx = Context::new().with_remote_span_context(span);
/// let mut headers = http::HeaderMap::new();
/// mackerel_trace::propagation::inject_context(&cx, &mut headers);
/// assert_eq!(
///     headers["traceparent"],
///     "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
/// );
/// ```
pub fn inject_context(cx: &Context, headers: &mut HeaderMap) {
    with_propagator(|propagator| propagator.inject_context(cx, &mut HeaderInjector(headers)));
}

/// The context `headers` carry: a remote parent span (when there is a valid `traceparent`)
/// and baggage, on top of the current context. Attach it, or start a span with it as parent,
/// to continue the caller's trace.
///
/// See the [module example](self).
pub fn extract(headers: &HeaderMap) -> Context {
    with_propagator(|propagator| propagator.extract(&HeaderExtractor(headers)))
}

/// [`extract`] from any carrier, such as another crate's header map.
#[cfg(feature = "actix")]
pub(crate) fn extract_from(carrier: &dyn Extractor) -> Context {
    with_propagator(|propagator| propagator.extract(carrier))
}

fn with_propagator<R>(f: impl FnOnce(&dyn TextMapPropagator) -> R) -> R {
    static DEFAULT: OnceLock<TextMapCompositePropagator> = OnceLock::new();
    let installed = PROPAGATOR.read().ok().and_then(|slot| slot.clone());
    match installed {
        Some(propagator) => f(&*propagator),
        None => {
            f(DEFAULT.get_or_init(|| composite(&[Propagator::TraceContext, Propagator::Baggage])))
        }
    }
}

fn composite(propagators: &[Propagator]) -> TextMapCompositePropagator {
    let list: Vec<Box<dyn TextMapPropagator + Send + Sync>> = propagators
        .iter()
        .map(|p| -> Box<dyn TextMapPropagator + Send + Sync> {
            match p {
                Propagator::TraceContext => Box::new(TraceContextPropagator::new()),
                Propagator::Baggage => Box::new(BaggagePropagator::new()),
            }
        })
        .collect();
    TextMapCompositePropagator::new(list)
}

/// Sets the propagators for these functions and as the OpenTelemetry global.
pub(crate) fn install(propagators: &[Propagator]) {
    if let Ok(mut slot) = PROPAGATOR.write() {
        *slot = Some(Arc::new(composite(propagators)));
    }
    opentelemetry::global::set_text_map_propagator(composite(propagators));
}
