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

use std::str::FromStr as _;
use std::sync::{Arc, RwLock};

use http::header::{HeaderMap, HeaderName};
use opentelemetry::propagation::{Extractor, TextMapCompositePropagator, TextMapPropagator};
use opentelemetry::trace::{
    SpanContext, SpanId, TraceContextExt as _, TraceFlags, TraceId, TraceState,
};
use opentelemetry::Context;
use opentelemetry_http::HeaderInjector;
use opentelemetry_sdk::propagation::{BaggagePropagator, TraceContextPropagator};

use crate::settings::Propagator;

/// The propagators `init()` set, in order; `None` until then (W3C trace context and baggage).
static PROPAGATOR: RwLock<Option<Arc<[Propagator]>>> = RwLock::new(None);

/// The specification's default: W3C trace context, then baggage.
const DEFAULT: [Propagator; 2] = [Propagator::TraceContext, Propagator::Baggage];

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
    with_propagators(|list| inject_onto(cx, list, headers));
}

/// What the composite of `list` injects from `cx`; the tests below check it against the SDK's
/// propagators.
fn inject_onto(cx: &Context, list: &[Propagator], headers: &mut HeaderMap) {
    for propagator in list {
        match propagator {
            Propagator::TraceContext => inject_trace_context(cx, headers),
            Propagator::Baggage => {
                BaggagePropagator::new().inject_context(cx, &mut HeaderInjector(headers));
            }
        }
    }
}

/// `traceparent` and `tracestate` for the span of `cx`, as the SDK's `TraceContextPropagator`
/// writes them (`tracestate` even when empty), without formatting machinery or parsing the
/// header names.
fn inject_trace_context(cx: &Context, headers: &mut HeaderMap) {
    let span = cx.span();
    let span_context = span.span_context();
    if !span_context.is_valid() {
        return;
    }
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut value = *b"00-00000000000000000000000000000000-0000000000000000-00";
    let trace_id = span_context.trace_id().to_bytes();
    let span_id = span_context.span_id().to_bytes();
    let flags = [(span_context.trace_flags() & TraceFlags::SAMPLED).to_u8()];
    for (at, bytes) in [(3, &trace_id[..]), (36, &span_id[..]), (53, &flags[..])] {
        for (i, byte) in bytes.iter().enumerate() {
            value[at + 2 * i] = HEX[usize::from(byte >> 4)];
            value[at + 2 * i + 1] = HEX[usize::from(byte & 15)];
        }
    }
    if let Ok(value) = http::HeaderValue::from_bytes(&value) {
        headers.insert(&NAMES[Header::TraceParent as usize], value);
    }
    if let Ok(state) = http::HeaderValue::from_str(&span_context.trace_state().header()) {
        headers.insert(&NAMES[Header::TraceState as usize], state);
    }
}

/// The context `headers` carry: a remote parent span (when there is a valid `traceparent`)
/// and baggage, on top of the current context. Attach it, or start a span with it as parent,
/// to continue the caller's trace.
///
/// See the [module example](self).
pub fn extract(headers: &HeaderMap) -> Context {
    extract_from(&Headers(headers))
}

/// [`extract`] from any carrier, such as another crate's header map.
pub(crate) fn extract_from(carrier: &impl Carrier) -> Context {
    with_propagators(|list| extract_onto(Context::current(), list, carrier))
}

/// What the composite of `list` extracts from `carrier` onto `cx`; the tests below check it
/// against the SDK's propagators.
fn extract_onto(mut cx: Context, list: &[Propagator], carrier: &impl Carrier) -> Context {
    for propagator in list {
        cx = match propagator {
            Propagator::TraceContext => trace_context(cx, carrier),
            Propagator::Baggage if carrier.header(Header::Baggage).is_some() => {
                BaggagePropagator::new().extract_with_context(&cx, carrier)
            }
            Propagator::Baggage => cx,
        };
    }
    cx
}

/// The headers the propagators read.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Header {
    TraceParent = 0,
    TraceState = 1,
    Baggage = 2,
}

impl Header {
    pub(crate) const NAMES: [&'static str; 3] = ["traceparent", "tracestate", "baggage"];

    /// The header `key` names, when it is one of these (as the SDK's propagators spell them).
    pub(crate) fn of(key: &str) -> Option<Header> {
        match key {
            "traceparent" => Some(Header::TraceParent),
            "tracestate" => Some(Header::TraceState),
            "baggage" => Some(Header::Baggage),
            _ => None,
        }
    }
}

/// A propagation carrier that can look the propagators' headers up without parsing their
/// names on every lookup; [`Extractor::get`] for them must give the same answers.
pub(crate) trait Carrier: Extractor {
    /// The first `header`, when it is text: what `self.get(header.name())` gives.
    fn header(&self, header: Header) -> Option<&str>;
}

/// An `http` header map read as the SDK's `HeaderExtractor` reads it (the first value of a
/// name, when it is text), with the propagators' header names made once.
struct Headers<'a>(&'a HeaderMap);

static NAMES: [HeaderName; 3] = [
    HeaderName::from_static(Header::NAMES[0]),
    HeaderName::from_static(Header::NAMES[1]),
    HeaderName::from_static(Header::NAMES[2]),
];

impl Carrier for Headers<'_> {
    fn header(&self, header: Header) -> Option<&str> {
        let value = self.0.get(&NAMES[header as usize])?;
        value.to_str().ok()
    }
}

impl Extractor for Headers<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        match Header::of(key) {
            Some(header) => self.header(header),
            None => self.0.get(key).and_then(|value| value.to_str().ok()),
        }
    }

    fn keys(&self) -> Vec<&str> {
        self.0.keys().map(HeaderName::as_str).collect()
    }
}

/// `cx` with the remote parent `traceparent` and `tracestate` carry, as the SDK's
/// `TraceContextPropagator` extracts it: a `traceparent` of the usual shape is read here,
/// anything else by the SDK.
fn trace_context(cx: Context, carrier: &impl Carrier) -> Context {
    let value = carrier.header(Header::TraceParent).unwrap_or("").trim();
    if value.is_empty() {
        return cx;
    }
    let Some((trace_id, span_id, flags)) = usual_traceparent(value) else {
        return TraceContextPropagator::new().extract_with_context(&cx, carrier);
    };
    let trace_state = carrier
        .header(Header::TraceState)
        .map(|state| TraceState::from_str(state).unwrap_or_default())
        .unwrap_or_default();
    let span_context = SpanContext::new(trace_id, span_id, flags, true, trace_state);
    if span_context.is_valid() {
        cx.with_remote_span_context(span_context)
    } else {
        cx
    }
}

/// A `traceparent` of the shape W3C trace context version `00` writes
/// (`00-<32 hex>-<16 hex>-<2 hex>`, lower case): its ids and flags (sampled only, as the SDK
/// keeps them). `None` for any other shape, left to the SDK's rules.
fn usual_traceparent(value: &str) -> Option<(TraceId, SpanId, TraceFlags)> {
    let bytes = value.as_bytes();
    if bytes.len() != 55 || &bytes[..3] != b"00-" || bytes[35] != b'-' || bytes[52] != b'-' {
        return None;
    }
    let high = lower_hex(&bytes[3..19])?;
    let low = lower_hex(&bytes[19..35])?;
    let span_id = lower_hex(&bytes[36..52])?;
    let flags = lower_hex(&bytes[53..55])?;
    Some((
        TraceId::from(u128::from(high) << 64 | u128::from(low)),
        SpanId::from(span_id),
        TraceFlags::new(flags as u8) & TraceFlags::SAMPLED,
    ))
}

/// `digits` (at most 16, lower-case hex) as a number.
fn lower_hex(digits: &[u8]) -> Option<u64> {
    /// Each byte's value as a lower-case hex digit; 16 and over for any other byte.
    const DIGIT: [u8; 256] = {
        let mut table = [16u8; 256];
        let mut i = 0;
        while i < 10 {
            table[b'0' as usize + i] = i as u8;
            i += 1;
        }
        let mut i = 0;
        while i < 6 {
            table[b'a' as usize + i] = 10 + i as u8;
            i += 1;
        }
        table
    };
    let mut n = 0u64;
    let mut invalid = 0u8;
    for &digit in digits {
        let value = DIGIT[usize::from(digit)];
        invalid |= value;
        n = n << 4 | u64::from(value & 15);
    }
    (invalid < 16).then_some(n)
}

/// Runs `f` with the propagators in use: what `init()` set, or the default.
fn with_propagators<R>(f: impl FnOnce(&[Propagator]) -> R) -> R {
    let installed = PROPAGATOR.read().ok().and_then(|slot| slot.clone());
    f(installed.as_deref().unwrap_or(&DEFAULT))
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
        *slot = Some(Arc::from(propagators));
    }
    opentelemetry::global::set_text_map_propagator(composite(propagators));
}

#[cfg(test)]
mod tests {
    use opentelemetry::baggage::BaggageExt as _;
    use opentelemetry_http::HeaderExtractor;

    use super::*;

    /// Every kind of propagator list `OTEL_PROPAGATORS` can make.
    const LISTS: &[&[Propagator]] = &[
        &DEFAULT,
        &[Propagator::TraceContext],
        &[Propagator::Baggage],
        &[Propagator::Baggage, Propagator::TraceContext],
        &[],
    ];

    /// What a context carries that extraction sets: the remote span and the baggage.
    fn carried(cx: &Context) -> (bool, SpanContext, Vec<String>) {
        let mut baggage: Vec<String> = cx
            .baggage()
            .iter()
            .map(|(key, (value, metadata))| format!("{key}={value};{}", metadata.as_str()))
            .collect();
        baggage.sort();
        (
            cx.has_active_span(),
            cx.span().span_context().clone(),
            baggage,
        )
    }

    #[test]
    fn inject_writes_what_the_sdk_propagators_write() {
        use opentelemetry::baggage::BaggageExt as _;
        use opentelemetry::KeyValue;

        let span = |flags: TraceFlags, state: &str| {
            SpanContext::new(
                TraceId::from(0x4bf9_2f35_77b3_4da6_a3ce_929d_0e0e_4736),
                SpanId::from(0x00f0_67aa_0ba9_02b7),
                flags,
                false,
                TraceState::from_str(state).unwrap(),
            )
        };
        let spans = [
            span(TraceFlags::SAMPLED, ""),
            span(TraceFlags::default(), ""),
            span(TraceFlags::new(0xff), "foo=bar,vendor=a1b2"),
            SpanContext::new(
                TraceId::from(1),
                SpanId::from(2),
                TraceFlags::SAMPLED,
                true,
                TraceState::default(),
            ),
            SpanContext::empty_context(),
        ];
        let lists = LISTS;
        for span in spans {
            for baggage in [false, true] {
                let mut cx = Context::new().with_remote_span_context(span.clone());
                if baggage {
                    cx = cx.with_baggage([
                        KeyValue::new("user", "alice"),
                        KeyValue::new("team", "core one"),
                    ]);
                }
                for list in lists {
                    // Headers already there are replaced, as the SDK's injector replaces them.
                    let mut before = HeaderMap::new();
                    before.append("traceparent", http::HeaderValue::from_static("old"));
                    before.append("traceparent", http::HeaderValue::from_static("older"));
                    before.insert("x-other", http::HeaderValue::from_static("1"));
                    let mut ours = before.clone();
                    inject_onto(&cx, list, &mut ours);
                    let mut sdk = before.clone();
                    composite(list).inject_context(&cx, &mut HeaderInjector(&mut sdk));
                    let all = |headers: &HeaderMap| {
                        let mut all: Vec<(String, Vec<u8>)> = headers
                            .iter()
                            .map(|(k, v)| (k.to_string(), v.as_bytes().to_vec()))
                            .collect();
                        all.sort();
                        all
                    };
                    assert_eq!(all(&ours), all(&sdk), "{span:?} baggage {baggage} {list:?}");
                }
            }
        }
    }

    #[test]
    fn extract_reads_what_the_sdk_propagators_read() {
        let traceparents: &[&[u8]] = &[
            b"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            b"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00",
            b"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-03",
            b"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-ff",
            b"  00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01 ",
            b"02-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-09",
            b"02-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-09-XYZxsf09",
            b"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-",
            b"01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-09-",
            b"ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            b"0000-00000000000000000000000000000000-0000000000000000-01",
            b"00-ab00000000000000000000000000000000-cd00000000000000-01",
            b"00-ab000000000000000000000000000000-cd0000000000000000-01",
            b"00-ab000000000000000000000000000000-cd00000000000000-0100",
            b"qw-00000000000000000000000000000000-0000000000000000-01",
            b"00-qw000000000000000000000000000000-cd00000000000000-01",
            b"00-ab000000000000000000000000000000-qw00000000000000-01",
            b"00-ab000000000000000000000000000000-cd00000000000000-qw",
            b"A0-00000000000000000000000000000000-0000000000000000-01",
            b"00-AB000000000000000000000000000000-cd00000000000000-01",
            b"00-ab000000000000000000000000000000-CD00000000000000-01",
            b"00-ab000000000000000000000000000000-cd00000000000000-A1",
            b"00-00000000000000000000000000000000-0000000000000000-01",
            b"00-00000000000000000000000000000000-00f067aa0ba902b7-01",
            b"00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",
            b"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7",
            b"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-",
            b"00-abc-def-01",
            b"+0-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            b"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-+1",
            b"00_4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            b"00-4bf92f3577b34da6a3ce929d0e0e4736_00f067aa0ba902b7-01",
            b"00-4bf92f3577b34da6a3ce929d0e0e47\xff-00f067aa0ba902b7-01",
            b"",
        ];
        let tracestates: &[Option<&[u8]>] = &[
            None,
            Some(b"foo=bar"),
            Some(b"foo=bar,vendor=a1b2"),
            Some(b"=="),
            Some(b"\xff=1"),
        ];
        let baggages: &[Option<&[u8]>] = &[
            None,
            Some(b"user=alice"),
            Some(b"user=alice;level=1, team=%20core"),
            Some(b"nonsense"),
            Some(b"k=\xff"),
        ];
        let lists = LISTS;
        let mut compared = 0;
        for traceparent in traceparents {
            for tracestate in tracestates {
                for baggage in baggages {
                    let mut headers = HeaderMap::new();
                    if !traceparent.is_empty() {
                        let value = http::HeaderValue::from_bytes(traceparent).unwrap();
                        headers.insert("traceparent", value);
                    }
                    if let Some(state) = tracestate {
                        let value = http::HeaderValue::from_bytes(state).unwrap();
                        headers.insert("tracestate", value);
                    }
                    if let Some(baggage) = baggage {
                        let value = http::HeaderValue::from_bytes(baggage).unwrap();
                        headers.insert("baggage", value);
                    }
                    for list in lists {
                        let ours = extract_onto(Context::new(), list, &Headers(&headers));
                        let sdk = composite(list)
                            .extract_with_context(&Context::new(), &HeaderExtractor(&headers));
                        assert_eq!(
                            carried(&ours),
                            carried(&sdk),
                            "{:?} {:?} {:?} {list:?}",
                            String::from_utf8_lossy(traceparent),
                            tracestate.map(String::from_utf8_lossy),
                            baggage.map(String::from_utf8_lossy),
                        );
                        compared += 1;
                    }
                }
            }
        }
        assert_eq!(compared, traceparents.len() * 5 * 5 * lists.len());

        // A second header of a name: the first is read, as the SDK reads it.
        let mut headers = HeaderMap::new();
        headers.append(
            "traceparent",
            http::HeaderValue::from_static(
                "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            ),
        );
        headers.append(
            "traceparent",
            http::HeaderValue::from_static(
                "00-11111111111111111111111111111111-2222222222222222-01",
            ),
        );
        let ours = extract_onto(Context::new(), &DEFAULT, &Headers(&headers));
        let sdk =
            composite(&DEFAULT).extract_with_context(&Context::new(), &HeaderExtractor(&headers));
        assert_eq!(carried(&ours), carried(&sdk));
        assert_eq!(
            ours.span().span_context().trace_id(),
            TraceId::from(0x4bf9_2f35_77b3_4da6_a3ce_929d_0e0e_4736)
        );
        // Any other name, in any case, is looked up as the SDK's extractor looks it up.
        headers.insert("x-other", http::HeaderValue::from_static("1"));
        for key in ["x-other", "X-Other", "Traceparent", "baggage", "missing"] {
            assert_eq!(
                Headers(&headers).get(key),
                HeaderExtractor(&headers).get(key),
                "{key}"
            );
        }
        let (ours, sdk) = (Headers(&headers), HeaderExtractor(&headers));
        let mut keys = ours.keys();
        let mut sdk_keys = sdk.keys();
        keys.sort_unstable();
        sdk_keys.sort_unstable();
        assert_eq!(keys, sdk_keys);
    }
}
