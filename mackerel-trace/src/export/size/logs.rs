//! The upper bound of a log record's size in an OTLP `ExportLogsServiceRequest`, from the
//! `SdkLogRecord` without encoding it. Requests of log records share the spans' resource
//! framing ([`resource`](super::resource)).

use opentelemetry::logs::AnyValue;
use opentelemetry::InstrumentationScope;
use opentelemetry_sdk::logs::SdkLogRecord;

use super::{framed, scope_named, string_field, varint_field};

/// Bytes a log record adds to a request: its `LogRecord` message with tag and length prefix.
pub(crate) fn log_record(record: &SdkLogRecord) -> usize {
    // time_unix_nano and observed_time_unix_nano (fixed64), severity_number (an enum of at
    // most 24: one byte). dropped_attributes_count is always 0 in the conversion: no bytes.
    let mut len = 9 + 9 + 2;
    len += record.severity_text().map_or(0, string_field);
    len += record.body().map_or(0, |body| framed(any_value(body)));
    len += record
        .attributes_iter()
        .map(|(key, value)| framed(string_field(key.as_str()) + framed(any_value(value))))
        .sum::<usize>();
    if record.trace_context().is_some() {
        len += 5 + framed(16) + framed(8); // flags (fixed32), trace_id, span_id
    }
    len += record.event_name().map_or(0, string_field);
    framed(len)
}

/// Bytes a request adds around the log records of one scope: the `ScopeLogs` message, named
/// by the record's target when it has one (as the exporter groups them).
pub(crate) fn log_scope(record: &SdkLogRecord, scope: &InstrumentationScope) -> usize {
    let name = record
        .target()
        .map_or(scope.name(), |target| target.as_ref());
    scope_named(name, scope)
}

/// The `AnyValue` message's content (without its own framing); maps and lists nest.
fn any_value(value: &AnyValue) -> usize {
    match value {
        AnyValue::Boolean(_) => 2,
        AnyValue::Int(v) => varint_field(*v as u64).max(2),
        AnyValue::Double(_) => 9,
        AnyValue::String(s) => string_field(s.as_str()),
        AnyValue::Bytes(bytes) => framed(bytes.len()),
        // ArrayValue { values: repeated AnyValue }
        AnyValue::ListAny(values) => framed(values.iter().map(|v| framed(any_value(v))).sum()),
        // KeyValueList { values: repeated KeyValue }
        AnyValue::Map(map) => framed(
            map.iter()
                .map(|(key, v)| framed(string_field(key.as_str()) + framed(any_value(v))))
                .sum(),
        ),
        // Kinds added after this was written: counted by their Debug text, an over-estimate
        // for every kind the SDK has today.
        other => format!("{other:?}").len() * 2,
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;
    use std::time::{Duration, SystemTime};

    use opentelemetry::logs::{LogRecord as _, Logger as _, LoggerProvider as _, Severity};
    use opentelemetry::{Key, KeyValue, SpanId, TraceFlags, TraceId};
    use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
    use opentelemetry_proto::transform::common::tonic::ResourceAttributesWithSchema;
    use opentelemetry_proto::transform::logs::tonic::group_logs_by_resource_and_scope;
    use opentelemetry_sdk::logs::{LogBatch, SdkLoggerProvider};
    use opentelemetry_sdk::Resource;
    use proptest::prelude::*;
    use prost::Message;

    use super::*;
    use crate::export::size::resource;

    /// What a record is built from; `SdkLogRecord` has no public constructor.
    #[derive(Clone, Debug)]
    struct Fields {
        scope: InstrumentationScope,
        target: Option<String>,
        time: Option<SystemTime>,
        severity: Option<(Severity, &'static str)>,
        body: Option<AnyValue>,
        attributes: Vec<(String, AnyValue)>,
        trace: Option<(u128, u64, Option<TraceFlags>)>,
        event_name: Option<&'static str>,
    }

    fn record(
        provider: &SdkLoggerProvider,
        fields: Fields,
    ) -> (SdkLogRecord, InstrumentationScope) {
        let mut record = provider
            .logger_with_scope(fields.scope.clone())
            .create_log_record();
        if let Some(target) = fields.target {
            record.set_target(target);
        }
        if let Some(time) = fields.time {
            record.set_timestamp(time);
        }
        // The SDK's logger sets it when the record is emitted; the conversion requires it.
        record.set_observed_timestamp(SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000));
        if let Some((number, text)) = fields.severity {
            record.set_severity_number(number);
            record.set_severity_text(text);
        }
        if let Some(body) = fields.body {
            record.set_body(body);
        }
        for (key, value) in fields.attributes {
            record.add_attribute(key, value);
        }
        if let Some((trace, span, flags)) = fields.trace {
            record.set_trace_context(TraceId::from(trace), SpanId::from(span), flags);
        }
        if let Some(name) = fields.event_name {
            record.set_event_name(name);
        }
        (record, fields.scope)
    }

    fn resource_attributes() -> Vec<KeyValue> {
        vec![
            KeyValue::new("service.name", "checkout"),
            KeyValue::new("service.version", "1.2.3"),
            KeyValue::new("host.name", "web-1.example"),
            KeyValue::new("process.pid", 4242),
        ]
    }

    /// What the exporter sends for `logs`: converted with opentelemetry-proto, sized by prost.
    fn encoded_len(logs: &[(SdkLogRecord, InstrumentationScope)]) -> usize {
        let resource = Resource::builder_empty()
            .with_attributes(resource_attributes())
            .build();
        let resource = ResourceAttributesWithSchema::from(&resource);
        let refs: Vec<(&SdkLogRecord, &InstrumentationScope)> =
            logs.iter().map(|(record, scope)| (record, scope)).collect();
        let batch = LogBatch::new(&refs);
        ExportLogsServiceRequest {
            resource_logs: group_logs_by_resource_and_scope(&batch, &resource),
        }
        .encoded_len()
    }

    /// What the worker counts for `logs` in one request: each scope group once.
    fn bound(logs: &[(SdkLogRecord, InstrumentationScope)]) -> usize {
        let mut groups: Vec<(Option<&str>, &InstrumentationScope)> = Vec::new();
        let mut len = resource(&resource_attributes());
        for (record, scope) in logs {
            let group = (record.target().map(|t| t.as_ref()), scope);
            if !groups.contains(&group) {
                groups.push(group);
                len += log_scope(record, scope);
            }
            len += log_record(record);
        }
        len
    }

    fn text() -> impl Strategy<Value = String> {
        prop_oneof![".{0,40}", ".{0,400}", "[a-z]{0,5000}"]
    }

    fn value() -> impl Strategy<Value = AnyValue> {
        let leaf = prop_oneof![
            any::<bool>().prop_map(AnyValue::Boolean),
            any::<i64>().prop_map(AnyValue::Int),
            (0i64..128).prop_map(AnyValue::Int),
            any::<f64>().prop_map(AnyValue::Double),
            text().prop_map(AnyValue::from),
            proptest::collection::vec(any::<u8>(), 0..300)
                .prop_map(|bytes| AnyValue::Bytes(Box::new(bytes))),
        ];
        leaf.prop_recursive(3, 48, 8, |inner| {
            prop_oneof![
                proptest::collection::vec(inner.clone(), 0..8)
                    .prop_map(|values| AnyValue::ListAny(Box::new(values))),
                proptest::collection::hash_map("[a-z._]{1,20}", inner, 0..8).prop_map(|map| {
                    AnyValue::Map(Box::new(
                        map.into_iter().map(|(k, v)| (Key::from(k), v)).collect(),
                    ))
                }),
            ]
        })
    }

    fn scope() -> impl Strategy<Value = InstrumentationScope> {
        prop_oneof![
            Just(
                InstrumentationScope::builder("mackerel-trace")
                    .with_version("0.1.0")
                    .build()
            ),
            Just(InstrumentationScope::builder("app").build()),
            Just(
                InstrumentationScope::builder("lib")
                    .with_version("2.0.0")
                    .with_schema_url("https://opentelemetry.io/schemas/1.30.0")
                    .with_attributes([KeyValue::new("lib.kind", "db")])
                    .build()
            ),
        ]
    }

    const SEVERITIES: [(Severity, &str); 6] = [
        (Severity::Trace, "TRACE"),
        (Severity::Debug, "DEBUG"),
        (Severity::Info, "INFO"),
        (Severity::Warn, "WARN"),
        (Severity::Error, "ERROR"),
        (Severity::Fatal4, "FATAL4"),
    ];

    prop_compose! {
        fn fields()(
            scope in scope(),
            target in proptest::option::of(prop_oneof!["[a-z_:]{1,60}", Just("app".to_owned())]),
            nanos in proptest::option::of(any::<u64>()),
            severity in proptest::option::of(proptest::sample::select(&SEVERITIES[..])),
            body in proptest::option::of(value()),
            attributes in proptest::collection::vec(("[a-z.]{1,30}", value()), 0..8),
            trace in proptest::option::of((
                any::<u128>(),
                any::<u64>(),
                proptest::option::of(any::<u8>().prop_map(TraceFlags::new)),
            )),
            event_name in proptest::option::of(proptest::sample::select(&["", "login", "order.placed"][..])),
        ) -> Fields {
            Fields {
                scope,
                target,
                time: nanos.map(|n| SystemTime::UNIX_EPOCH + Duration::from_nanos(n)),
                severity,
                body,
                attributes,
                trace,
                event_name,
            }
        }
    }

    prop_compose! {
        /// What the `tracing` layer emits: a map body holding `message` and a few typed
        /// fields, a level, the current span's ids, the event's module as target.
        fn ordinary_fields()(
            module in "[a-z_]{3,12}(::[a-z_]{3,12}){0,3}",
            message in "[A-Za-z ,.]{10,120}",
            fields in proptest::collection::vec(
                (
                    "[a-z_.]{2,20}",
                    prop_oneof![
                        any::<i64>().prop_map(AnyValue::Int),
                        any::<bool>().prop_map(AnyValue::Boolean),
                        "[a-z0-9-]{1,40}".prop_map(AnyValue::from),
                        any::<f64>().prop_map(AnyValue::Double),
                    ],
                ),
                0..5,
            ),
            severity in proptest::sample::select(&SEVERITIES[2..5]),
            trace in proptest::option::of((1u128.., 1u64..)),
            nanos in 1_700_000_000_000_000_000u64..1_800_000_000_000_000_000,
        ) -> Fields {
            let mut body: HashMap<Key, AnyValue> = fields
                .into_iter()
                .map(|(key, value)| (Key::from(key), value))
                .collect();
            body.insert(Key::from_static_str("message"), AnyValue::from(message));
            Fields {
                scope: InstrumentationScope::builder("mackerel-trace")
                    .with_version("0.1.0")
                    .build(),
                target: Some(module),
                time: Some(SystemTime::UNIX_EPOCH + Duration::from_nanos(nanos)),
                severity: Some(severity),
                body: Some(AnyValue::Map(Box::new(body))),
                attributes: Vec::new(),
                trace: trace.map(|(trace, span)| (trace, span, Some(TraceFlags::SAMPLED))),
                event_name: None,
            }
        }
    }

    fn records(fields: Vec<Fields>) -> Vec<(SdkLogRecord, InstrumentationScope)> {
        let provider = SdkLoggerProvider::builder().build();
        fields.into_iter().map(|f| record(&provider, f)).collect()
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]

        #[test]
        fn the_bound_is_never_below_the_encoded_size(fields in proptest::collection::vec(fields(), 1..20)) {
            let logs = records(fields);
            let bound = bound(&logs);
            let encoded = encoded_len(&logs);
            prop_assert!(bound >= encoded, "bound {bound} < encoded {encoded}");
        }

        #[test]
        fn the_bound_is_within_5_percent_of_the_encoded_size_for_ordinary_records(
            fields in proptest::collection::vec(ordinary_fields(), 20..200),
        ) {
            let logs = records(fields);
            let bound = bound(&logs);
            let encoded = encoded_len(&logs);
            prop_assert!(bound >= encoded, "bound {bound} < encoded {encoded}");
            prop_assert!(
                bound as f64 <= encoded as f64 * 1.05,
                "bound {bound} is more than 5% over encoded {encoded}"
            );
        }
    }

    #[test]
    fn each_record_alone_is_bounded_within_a_request_frame() {
        let logs = records(vec![Fields {
            scope: InstrumentationScope::builder("mackerel-trace").build(),
            target: None,
            time: None,
            severity: None,
            body: Some(AnyValue::Int(-1)),
            attributes: vec![("empty".to_owned(), AnyValue::from(""))],
            trace: None,
            event_name: None,
        }]);
        let encoded = encoded_len(&logs);
        let bound = bound(&logs);
        assert!(bound >= encoded, "bound {bound} < encoded {encoded}");
    }
}
