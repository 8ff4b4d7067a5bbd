//! [`ReceivedLog`]: one log record from a decoded `/v1/logs` request, for assertions (feature
//! `logs`).

use opentelemetry_proto::tonic::common::v1::{AnyValue, InstrumentationScope, KeyValue};
use opentelemetry_proto::tonic::logs::v1::LogRecord;

use super::received::ReceivedRequest;
use super::values::{as_bool, as_double, as_int, as_map, as_str, find, hex};

/// One log record from a request to `/v1/logs`, with the resource and instrumentation scope it
/// came under.
///
/// # Example
///
/// ```
/// # use std::io::Write as _;
/// # use prost::Message as _;
/// # use opentelemetry_proto::tonic::{collector::logs::v1::ExportLogsServiceRequest, common::v1::*, logs::v1::*, resource::v1::Resource};
/// use std::time::Duration;
/// use mackerel_trace::testing::Receiver;
/// use mackerel_trace::testing::proto::common::v1::any_value::Value;
///
/// let receiver = Receiver::start();
/// # let value = |value| Some(AnyValue { value: Some(value) });
/// # let kv = |k: &str, v| KeyValue { key: k.into(), value: value(v), ..Default::default() };
/// # let body = KeyValueList { values: vec![
/// #     kv("message", Value::StringValue("order placed".into())),
/// #     kv("order.id", Value::IntValue(42)),
/// #     kv("paid", Value::BoolValue(true)),
/// #     kv("total", Value::DoubleValue(12.5)),
/// # ] };
/// # let record = LogRecord {
/// #     time_unix_nano: 1_700_000_000_000_000_000, observed_time_unix_nano: 1_700_000_000_000_000_001,
/// #     severity_number: SeverityNumber::Info as i32, severity_text: "INFO".into(),
/// #     body: value(Value::KvlistValue(body)), event_name: "checkout".into(),
/// #     attributes: vec![kv("code.function.name", Value::StringValue("place_order".into())), kv("retries", Value::IntValue(1))],
/// #     trace_id: vec![0xab; 16], span_id: vec![0xcd; 8], flags: 1, ..Default::default()
/// # };
/// # let export = ExportLogsServiceRequest { resource_logs: vec![ResourceLogs {
/// #     resource: Some(Resource { attributes: vec![kv("service.name", Value::StringValue("shop".into()))], ..Default::default() }),
/// #     scope_logs: vec![ScopeLogs { scope: Some(InstrumentationScope { name: "shop::orders".into(), ..Default::default() }), log_records: vec![record], ..Default::default() }],
/// #     ..Default::default() }] };
/// # let mut gzip = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
/// # gzip.write_all(&export.encode_to_vec()).unwrap();
/// # let agent: ureq::Agent = ureq::Agent::config_builder().proxy(None).build().into();
/// # agent.post(receiver.logs_endpoint()).header("Content-Encoding", "gzip").send(gzip.finish().unwrap()).unwrap();
/// // … the code under test logs "order placed" inside a span and exports it …
/// let logs = receiver.wait_for_logs(1, Duration::from_secs(5));
/// let log = &logs[0];
/// assert_eq!((log.severity_number(), log.severity_text()), (9, "INFO"));
/// assert_eq!(log.time_unix_nano(), 1_700_000_000_000_000_000);
/// assert_eq!(log.observed_time_unix_nano(), 1_700_000_000_000_000_001);
/// assert_eq!(log.event_name(), "checkout");
/// assert_eq!(log.body_string("message"), Some("order placed"));
/// assert_eq!(log.body_int("order.id"), Some(42));
/// assert_eq!(log.body_bool("paid"), Some(true));
/// assert_eq!(log.body_double("total"), Some(12.5));
/// assert!(log.body_field("missing").is_none() && log.body().is_some());
/// assert_eq!(log.string_attr("code.function.name"), Some("place_order"));
/// assert_eq!(log.int_attr("retries"), Some(1));
/// assert_eq!(log.bool_attr("retries"), None);
/// assert!(log.attr("missing").is_none());
/// assert_eq!(log.resource_string_attr("service.name"), Some("shop"));
/// assert!(log.resource_attr("missing").is_none());
/// assert_eq!(log.scope_name(), "shop::orders");
/// assert_eq!(log.trace_id(), "ab".repeat(16));
/// assert_eq!(log.span_id(), "cd".repeat(8));
/// assert_eq!(log.flags(), 1);
/// ```
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct ReceivedLog {
    /// The log record as decoded from the wire.
    pub record: LogRecord,
    /// Attributes of the resource the record was exported under (`service.name`, …).
    pub resource_attributes: Vec<KeyValue>,
    /// The instrumentation scope (the logger's name, version and attributes); empty when the
    /// export carried none.
    pub scope: InstrumentationScope,
}

impl ReceivedLog {
    /// The severity as a `SeverityNumber` (`9` is INFO, `13` WARN, `17` ERROR; `0` when unset).
    ///
    /// See the [type-level example](ReceivedLog#example).
    pub fn severity_number(&self) -> i32 {
        self.record.severity_number
    }

    /// The severity as the source named it (`INFO`, `WARN`, …); empty when unset.
    ///
    /// See the [type-level example](ReceivedLog#example).
    pub fn severity_text(&self) -> &str {
        &self.record.severity_text
    }

    /// When the event happened, in nanoseconds since the Unix epoch; `0` when unknown.
    ///
    /// See the [type-level example](ReceivedLog#example).
    pub fn time_unix_nano(&self) -> u64 {
        self.record.time_unix_nano
    }

    /// When the record was observed by the logging pipeline, in nanoseconds since the Unix epoch.
    ///
    /// See the [type-level example](ReceivedLog#example).
    pub fn observed_time_unix_nano(&self) -> u64 {
        self.record.observed_time_unix_nano
    }

    /// The event's name; empty when unset.
    ///
    /// See the [type-level example](ReceivedLog#example).
    pub fn event_name(&self) -> &str {
        &self.record.event_name
    }

    /// The trace id of the span the record was emitted in, as 32 lowercase hex digits; empty
    /// when it was emitted outside any span.
    ///
    /// See the [type-level example](ReceivedLog#example).
    pub fn trace_id(&self) -> String {
        hex(&self.record.trace_id)
    }

    /// The span id of the span the record was emitted in, as 16 lowercase hex digits; empty
    /// when it was emitted outside any span.
    ///
    /// See the [type-level example](ReceivedLog#example).
    pub fn span_id(&self) -> String {
        hex(&self.record.span_id)
    }

    /// The W3C trace flags of that span (`1` when sampled); `0` when unset.
    ///
    /// See the [type-level example](ReceivedLog#example).
    pub fn flags(&self) -> u32 {
        self.record.flags
    }

    /// The record's body, whatever its type.
    ///
    /// See the [type-level example](ReceivedLog#example).
    pub fn body(&self) -> Option<&AnyValue> {
        self.record.body.as_ref()
    }

    /// A field of the body, when the body is a map (`KvlistValue`); `None` for other bodies.
    ///
    /// See the [type-level example](ReceivedLog#example).
    pub fn body_field(&self, key: &str) -> Option<&AnyValue> {
        find(as_map(self.body()?)?, key)
    }

    /// A field of a map body, when it is a string.
    ///
    /// See the [type-level example](ReceivedLog#example).
    pub fn body_string(&self, key: &str) -> Option<&str> {
        as_str(self.body_field(key)?)
    }

    /// A field of a map body, when it is an integer.
    ///
    /// See the [type-level example](ReceivedLog#example).
    pub fn body_int(&self, key: &str) -> Option<i64> {
        as_int(self.body_field(key)?)
    }

    /// A field of a map body, when it is a boolean.
    ///
    /// See the [type-level example](ReceivedLog#example).
    pub fn body_bool(&self, key: &str) -> Option<bool> {
        as_bool(self.body_field(key)?)
    }

    /// A field of a map body, when it is a floating-point number.
    ///
    /// See the [type-level example](ReceivedLog#example).
    pub fn body_double(&self, key: &str) -> Option<f64> {
        as_double(self.body_field(key)?)
    }

    /// A record attribute's value.
    ///
    /// See the [type-level example](ReceivedLog#example).
    pub fn attr(&self, key: &str) -> Option<&AnyValue> {
        find(&self.record.attributes, key)
    }

    /// A record attribute's value when it is a string.
    ///
    /// See the [type-level example](ReceivedLog#example).
    pub fn string_attr(&self, key: &str) -> Option<&str> {
        as_str(self.attr(key)?)
    }

    /// A record attribute's value when it is an integer.
    ///
    /// See the [type-level example](ReceivedLog#example).
    pub fn int_attr(&self, key: &str) -> Option<i64> {
        as_int(self.attr(key)?)
    }

    /// A record attribute's value when it is a boolean.
    ///
    /// See the [type-level example](ReceivedLog#example).
    pub fn bool_attr(&self, key: &str) -> Option<bool> {
        as_bool(self.attr(key)?)
    }

    /// A resource attribute's value.
    ///
    /// See the [type-level example](ReceivedLog#example).
    pub fn resource_attr(&self, key: &str) -> Option<&AnyValue> {
        find(&self.resource_attributes, key)
    }

    /// A resource attribute's value when it is a string.
    ///
    /// See the [type-level example](ReceivedLog#example).
    pub fn resource_string_attr(&self, key: &str) -> Option<&str> {
        as_str(self.resource_attr(key)?)
    }

    /// The instrumentation scope's name (the logger's name); empty when unset.
    ///
    /// See the [type-level example](ReceivedLog#example).
    pub fn scope_name(&self) -> &str {
        &self.scope.name
    }
}

impl ReceivedRequest {
    /// Every log record in this request, with its resource and scope, in payload order; empty
    /// for a traces request.
    ///
    /// Answered or not: compare requests to see how a batch was split, and each one's
    /// [`decoded_len`](ReceivedRequest::decoded_len).
    ///
    /// ```
    /// # use prost::Message as _;
    /// # use opentelemetry_proto::tonic::{collector::logs::v1::ExportLogsServiceRequest, logs::v1::*};
    /// use std::time::Duration;
    /// use mackerel_trace::testing::{Receiver, Reply};
    ///
    /// let receiver = Receiver::with_script(vec![Reply::status(503)]);
    /// # let export = |n: usize| ExportLogsServiceRequest { resource_logs: vec![ResourceLogs { scope_logs: vec![ScopeLogs { log_records: vec![LogRecord::default(); n], ..Default::default() }], ..Default::default() }] };
    /// # let agent: ureq::Agent = ureq::Agent::config_builder().proxy(None).http_status_as_error(false).build().into();
    /// # for n in [3, 2] { agent.post(receiver.logs_endpoint()).send(export(n).encode_to_vec()).unwrap(); }
    /// // … the code under test exports 3 records, is refused, then exports 2 …
    /// let requests = receiver.wait_for_requests(2, Duration::from_secs(5));
    /// let counts: Vec<_> = requests.iter().map(|request| request.logs().len()).collect();
    /// assert_eq!(counts, [3, 2]);
    /// assert!(requests.iter().all(|request| request.spans().is_empty()));
    /// assert!(requests[0].decoded_len > requests[1].decoded_len);
    /// // Only the accepted request's records count as delivered.
    /// assert_eq!(receiver.logs().len(), 2);
    /// ```
    pub fn logs(&self) -> Vec<ReceivedLog> {
        let Some(request) = &self.logs_request else {
            return Vec::new();
        };
        let mut logs = Vec::new();
        for resource_logs in &request.resource_logs {
            let resource_attributes = resource_logs
                .resource
                .as_ref()
                .map(|resource| resource.attributes.clone())
                .unwrap_or_default();
            for scope_logs in &resource_logs.scope_logs {
                let scope = scope_logs.scope.clone().unwrap_or_default();
                logs.extend(scope_logs.log_records.iter().map(|record| ReceivedLog {
                    record: record.clone(),
                    resource_attributes: resource_attributes.clone(),
                    scope: scope.clone(),
                }));
            }
        }
        logs
    }
}
