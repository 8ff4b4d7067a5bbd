//! An upper bound of a span's size in an OTLP protobuf request, computed from the `SpanData`
//! without encoding it, so batches can be cut under Mackerel's request limit before the
//! exporter encodes them once; [`logs`] does the same for log records.

use opentelemetry::trace::Status;
use opentelemetry::{Array, InstrumentationScope, KeyValue, Value};
use opentelemetry_sdk::trace::SpanData;

#[cfg(feature = "logs")]
mod logs;
#[cfg(feature = "logs")]
pub(crate) use logs::{log_record, log_scope};

/// Mackerel rejects requests over 6 MB; like Mackerel's own Collector exporter, each request
/// stays under 3.5 MiB of encoded protobuf, measured before compression.
pub(crate) const MAX_REQUEST_BYTES: usize = 3_670_016;

/// Bytes a span adds to a request: its `Span` message with tag and length prefix.
pub(crate) fn span(span: &SpanData) -> usize {
    let cx = &span.span_context;
    let mut len = bytes_field(16) + bytes_field(8); // trace_id, span_id
    len += string_field(&cx.trace_state().header());
    len += bytes_field(8); // parent_span_id (absent for a root: over-counted)
    len += 5; // flags: fixed32
    len += string_field(&span.name);
    len += 2; // kind
    len += 2 * 9; // start and end: fixed64
    len += attributes(&span.attributes);
    len += varint_field(u64::from(span.dropped_attributes_count));
    for event in span.events.iter() {
        let event_len = 9
            + string_field(&event.name)
            + attributes(&event.attributes)
            + varint_field(u64::from(event.dropped_attributes_count));
        len += framed(event_len);
    }
    len += varint_field(u64::from(span.events.dropped_count));
    for link in span.links.iter() {
        let cx = &link.span_context;
        let link_len = bytes_field(16)
            + bytes_field(8)
            + string_field(&cx.trace_state().header())
            + attributes(&link.attributes)
            + varint_field(u64::from(link.dropped_attributes_count))
            + 5;
        len += framed(link_len);
    }
    len += varint_field(u64::from(span.links.dropped_count));
    let message = match &span.status {
        Status::Error { description } => string_field(description),
        Status::Ok | Status::Unset => 0,
    };
    len += framed(message + 2); // status: message and code
    framed(len)
}

/// Bytes a request adds around the spans of one instrumentation scope: the `ScopeSpans`
/// message (scope, schema URL, framing of up to 3.5 MiB of spans).
pub(crate) fn scope(scope: &InstrumentationScope) -> usize {
    scope_named(scope.name(), scope)
}

/// [`scope`] under the name `name` (`ScopeLogs` has the shape of `ScopeSpans`, and a log
/// record's target names its scope).
fn scope_named(name: &str, scope: &InstrumentationScope) -> usize {
    let scope_len = string_field(name)
        + scope.version().map_or(0, string_field)
        + scope.attributes().map(key_value).sum::<usize>();
    // Tag and a length prefix of up to 4 bytes (3.5 MiB < 2^28) for the ScopeSpans message.
    5 + framed(scope_len) + scope.schema_url().map_or(0, string_field)
}

/// Bytes a request holds besides its scopes: the `ResourceSpans` (or `ResourceLogs`, the same
/// shape) message around them, with the resource's attributes.
pub(crate) fn resource(attributes: &[KeyValue]) -> usize {
    // ExportTraceServiceRequest.resource_spans and ResourceSpans.resource: tag + 4-byte length.
    2 * 5 + attributes.iter().map(key_value).sum::<usize>() + string_field(SCHEMA_URL_MAX)
}

/// The longest schema URL the resource can carry (the SDK sets none; room for one).
const SCHEMA_URL_MAX: &str = "https://opentelemetry.io/schemas/1.99.0";

fn attributes(attributes: &[KeyValue]) -> usize {
    attributes.iter().map(key_value).sum()
}

/// A `KeyValue` message with its tag and length prefix.
fn key_value(kv: &KeyValue) -> usize {
    framed(string_field(kv.key.as_str()) + framed(any_value(&kv.value)))
}

/// The `AnyValue` message's content (without its own framing).
fn any_value(value: &Value) -> usize {
    match value {
        Value::Bool(_) => 2,
        Value::I64(v) => varint_field(*v as u64).max(2),
        Value::F64(_) => 9,
        Value::String(s) => string_field(s.as_str()),
        Value::Array(array) => framed(match array {
            Array::Bool(values) => values.len() * framed(2),
            Array::I64(values) => values
                .iter()
                .map(|v| framed(varint_field(*v as u64).max(2)))
                .sum(),
            Array::F64(values) => values.len() * framed(9),
            Array::String(values) => values
                .iter()
                .map(|s| framed(string_field(s.as_str())))
                .sum(),
            // Array kinds added after this was written: counted by their Debug text, an
            // over-estimate for every kind the SDK has today.
            other => format!("{other:?}").len() * 2,
        }),
        other => format!("{other:?}").len() * 2,
    }
}

/// A field holding a message of `len` bytes: tag, length prefix, content.
fn framed(len: usize) -> usize {
    1 + varint_len(len as u64) + len
}

fn string_field(value: &str) -> usize {
    framed(value.len())
}

fn bytes_field(len: usize) -> usize {
    framed(len)
}

fn varint_field(value: u64) -> usize {
    if value == 0 {
        0
    } else {
        1 + varint_len(value)
    }
}

fn varint_len(value: u64) -> usize {
    // 7 bits a byte; 0 still takes one.
    (64 - (value | 1).leading_zeros() as usize).div_ceil(7)
}

#[cfg(test)]
mod tests {
    use std::borrow::Cow;
    use std::time::{Duration, SystemTime};

    use opentelemetry::trace::{
        Event, Link, SpanContext, SpanId, SpanKind, TraceFlags, TraceId, TraceState,
    };
    use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
    use opentelemetry_proto::transform::common::tonic::ResourceAttributesWithSchema;
    use opentelemetry_proto::transform::trace::tonic::group_spans_by_resource_and_scope;
    use opentelemetry_sdk::trace::{SpanEvents, SpanLinks};
    use opentelemetry_sdk::Resource;
    use proptest::prelude::*;
    use prost::Message;

    use super::*;

    fn text() -> impl Strategy<Value = String> {
        prop_oneof![".{0,40}", ".{0,400}", "[a-z]{0,5000}"]
    }

    fn value() -> impl Strategy<Value = Value> {
        prop_oneof![
            any::<bool>().prop_map(Value::Bool),
            any::<i64>().prop_map(Value::I64),
            (0i64..128).prop_map(Value::I64),
            any::<f64>().prop_map(Value::F64),
            text().prop_map(Value::from),
            proptest::collection::vec(any::<i64>(), 0..8).prop_map(|v| Value::Array(v.into())),
            proptest::collection::vec(".{0,20}", 0..8).prop_map(|v| {
                Value::Array(Array::String(v.into_iter().map(Into::into).collect()))
            }),
        ]
    }

    fn attributes() -> impl Strategy<Value = Vec<KeyValue>> {
        proptest::collection::vec(
            ("[a-z.]{1,30}", value()).prop_map(|(k, v)| KeyValue::new(k, v)),
            0..12,
        )
    }

    prop_compose! {
        fn span_data()(
            trace in 1u128..,
            span in 1u64..,
            parent in any::<u64>(),
            remote in any::<bool>(),
            name in ".{0,60}",
            attrs in attributes(),
            events in proptest::collection::vec((".{0,20}", attributes()), 0..4),
            link_attrs in proptest::collection::vec(attributes(), 0..3),
            error in proptest::option::of(".{0,200}"),
            dropped in 0u32..1_000,
            state in proptest::option::of("[a-z]{1,8}=[a-z0-9]{1,16}"),
            nanos in any::<u32>(),
        ) -> SpanData {
            let start = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
            let state = state
                .map(|s| s.parse::<TraceState>().unwrap_or_default())
                .unwrap_or_default();
            let cx = SpanContext::new(
                TraceId::from(trace),
                SpanId::from(span),
                TraceFlags::SAMPLED,
                false,
                state,
            );
            let mut span_events = SpanEvents::default();
            span_events.events = events
                .into_iter()
                .map(|(name, attrs)| Event::new(name, start, attrs, dropped))
                .collect();
            span_events.dropped_count = dropped;
            let mut span_links = SpanLinks::default();
            span_links.links = link_attrs
                .into_iter()
                .map(|attrs| Link::new(cx.clone(), attrs, dropped))
                .collect();
            SpanData {
                span_context: cx,
                parent_span_id: SpanId::from(parent),
                parent_span_is_remote: remote,
                span_kind: SpanKind::Server,
                name: Cow::Owned(name),
                start_time: start,
                end_time: start + Duration::from_nanos(u64::from(nanos)),
                attributes: attrs,
                dropped_attributes_count: dropped,
                events: span_events,
                links: span_links,
                status: error.map_or(Status::Unset, Status::error),
                instrumentation_scope: InstrumentationScope::builder("mackerel-trace")
                    .with_version("0.1.0")
                    .build(),
            }
        }
    }

    fn resource() -> Resource {
        Resource::builder_empty()
            .with_attributes([
                KeyValue::new("service.name", "checkout"),
                KeyValue::new("service.version", "1.2.3"),
                KeyValue::new("host.name", "web-1.example"),
                KeyValue::new("process.pid", 4242),
            ])
            .build()
    }

    /// What the exporter sends for `spans`: converted with opentelemetry-proto, sized by prost.
    fn encoded_len(spans: Vec<SpanData>) -> usize {
        let resource = ResourceAttributesWithSchema::from(&resource());
        let request = ExportTraceServiceRequest {
            resource_spans: group_spans_by_resource_and_scope(spans, &resource),
        };
        request.encoded_len()
    }

    fn bound(spans: &[SpanData]) -> usize {
        let attributes: Vec<KeyValue> = resource()
            .iter()
            .map(|(k, v)| KeyValue::new(k.clone(), v.clone()))
            .collect();
        super::resource(&attributes)
            + scope(&spans[0].instrumentation_scope)
            + spans.iter().map(super::span).sum::<usize>()
    }

    proptest! {
        // Each case converts and sizes up to hundreds of spans in a debug build.
        #![proptest_config(ProptestConfig::with_cases(64))]

        #[test]
        fn the_bound_is_never_below_the_encoded_size(spans in proptest::collection::vec(span_data(), 1..20)) {
            let bound = bound(&spans);
            let encoded = encoded_len(spans);
            prop_assert!(bound >= encoded, "bound {bound} < encoded {encoded}");
        }

        #[test]
        fn the_bound_is_within_a_quarter_of_the_encoded_size_for_ordinary_spans(
            spans in proptest::collection::vec(ordinary_span(), 20..200),
        ) {
            let bound = bound(&spans);
            let encoded = encoded_len(spans);
            prop_assert!(bound >= encoded, "bound {bound} < encoded {encoded}");
            prop_assert!(
                bound as f64 <= encoded as f64 * 1.25,
                "bound {bound} is more than 25% over encoded {encoded}"
            );
        }
    }

    prop_compose! {
        /// What `#[traced]` and the HTTP layers record: a name, `code.*`, a few typed values,
        /// sometimes an error with its `exception` event.
        fn ordinary_span()(
            trace in 1u128..,
            span in 1u64..,
            parent in 0u64..,
            name in "[a-z_:]{4,40}",
            line in 1i64..5_000,
            id in any::<i64>(),
            path in "/[a-z/]{1,40}",
            error in proptest::option::of("[a-z ]{10,80}"),
        ) -> SpanData {
            let start = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
            let mut attributes = vec![
                KeyValue::new("code.function.name", format!("shop::orders::{name}")),
                KeyValue::new("code.file.path", "src/orders.rs"),
                KeyValue::new("code.line.number", line),
                KeyValue::new("order.id", id),
                KeyValue::new("url.path", path),
            ];
            let mut events = SpanEvents::default();
            let status = match error {
                Some(message) => {
                    attributes.push(KeyValue::new("error.type", "std::io::Error"));
                    events.events.push(Event::new(
                        "exception",
                        start,
                        vec![
                            KeyValue::new("exception.type", "std::io::Error"),
                            KeyValue::new("exception.message", message.clone()),
                        ],
                        0,
                    ));
                    Status::error(message)
                }
                None => Status::Unset,
            };
            SpanData {
                span_context: SpanContext::new(
                    TraceId::from(trace),
                    SpanId::from(span),
                    TraceFlags::SAMPLED,
                    false,
                    TraceState::default(),
                ),
                parent_span_id: SpanId::from(parent),
                parent_span_is_remote: false,
                span_kind: SpanKind::Internal,
                name: Cow::Owned(name),
                start_time: start,
                end_time: start + Duration::from_micros(1_234),
                attributes,
                dropped_attributes_count: 0,
                events,
                links: SpanLinks::default(),
                status,
                instrumentation_scope: InstrumentationScope::builder("mackerel-trace")
                    .with_version("0.1.0")
                    .build(),
            }
        }
    }
}
