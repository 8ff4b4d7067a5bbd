//! [`ReceivedRequest`] and [`ReceivedSpan`]: one decoded export request and its spans, for assertions.

use std::io::Read as _;

#[cfg(feature = "logs")]
use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::{AnyValue, KeyValue};
use opentelemetry_proto::tonic::trace::v1::{span, Span};

use super::http::RawRequest;
use super::values::{as_bool, as_int, as_str, find, hex};

/// One HTTP request as the [`Receiver`](super::Receiver) saw it, with its OTLP payload decoded.
///
/// Recorded whatever the answer was, including [`Reply::close`](super::Reply::close) and
/// [`Reply::hang`](super::Reply::hang).
///
/// # Example
///
/// ```
/// # use std::io::Write as _;
/// # use prost::Message as _;
/// use std::time::Duration;
/// use mackerel_trace::testing::{Receiver, Reply};
///
/// let receiver = Receiver::with_script(vec![Reply::status(503)]);
/// # let agent: ureq::Agent = ureq::Agent::config_builder().proxy(None).http_status_as_error(false).build().into();
/// # let body = opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest::default().encode_to_vec();
/// # let mut gzip = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
/// # gzip.write_all(&body).unwrap();
/// # agent.post(receiver.endpoint()).header("Content-Encoding", "gzip").header("Accept", "*/*").send(gzip.finish().unwrap()).unwrap();
/// // … the code under test posts one gzipped export, gets 503 …
/// let requests = receiver.wait_for_requests(1, Duration::from_secs(5));
/// assert_eq!(requests[0].status, Some(503));
/// assert_eq!(requests[0].path, "/v1/traces");
/// assert_eq!(requests[0].header("ACCEPT"), Some("*/*"));
/// assert_eq!(requests[0].header("content-encoding"), Some("gzip"));
/// assert!(requests[0].request.is_some(), "{:?}", requests[0].decode_error);
/// ```
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct ReceivedRequest {
    /// `POST`, normally.
    pub method: String,
    /// The request target's path, e.g. `/v1/traces`.
    pub path: String,
    /// The request target exactly as sent: `/v1/traces` normally,
    /// `http://host:port/v1/traces` when the receiver stands in for a proxy, `host:443` for a
    /// proxy `CONNECT`.
    pub target: String,
    /// Header names lowercased, values as sent, in arrival order.
    pub headers: Vec<(String, String)>,
    /// Size of the body as sent (after removing chunked framing, before gunzip).
    pub body_len: usize,
    /// Size of the body after gunzip: the encoded protobuf (equal to `body_len` when uncompressed).
    pub decoded_len: usize,
    /// The decoded traces payload; `None` when the body did not gunzip or decode (see
    /// `decode_error`), and for a request to `/v1/logs` with the `logs` feature (see
    /// `logs_request`).
    pub request: Option<ExportTraceServiceRequest>,
    /// The decoded logs payload of a request whose path ends in `/v1/logs`; `None` for any other
    /// path, or when the body did not gunzip or decode (see `decode_error`).
    #[cfg(feature = "logs")]
    pub logs_request: Option<ExportLogsServiceRequest>,
    /// Why the body did not decode, when it did not.
    pub decode_error: Option<String>,
    /// The status code the receiver answered with; `None` after [`Reply::close`](super::Reply::close)
    /// or [`Reply::hang`](super::Reply::hang).
    pub status: Option<u16>,
    /// Which connection carried the request, numbered from 0 in the order they were accepted:
    /// equal numbers mean a kept-alive connection was reused.
    pub connection: u64,
}

impl ReceivedRequest {
    /// The first value of a header, with the name matched case-insensitively.
    ///
    /// See the [type-level example](ReceivedRequest#example).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(key, _)| key.eq_ignore_ascii_case(name))
            .map(|(_, value)| value.as_str())
    }

    /// Whether the receiver answered with a 2xx status, i.e. the client was told its spans (or
    /// log records) arrived.
    ///
    /// See [`Receiver::requests`](super::Receiver::requests) for an example.
    pub fn accepted(&self) -> bool {
        self.status
            .is_some_and(|status| (200..300).contains(&status))
    }

    /// Every span in this request, with its resource and scope, in payload order.
    ///
    /// See [`Receiver::requests`](super::Receiver::requests) for an example.
    pub fn spans(&self) -> Vec<ReceivedSpan> {
        let Some(request) = &self.request else {
            return Vec::new();
        };
        let mut spans = Vec::new();
        for resource_spans in &request.resource_spans {
            let resource_attributes = resource_spans
                .resource
                .as_ref()
                .map(|resource| resource.attributes.clone())
                .unwrap_or_default();
            for scope_spans in &resource_spans.scope_spans {
                let (scope_name, scope_version) = scope_spans
                    .scope
                    .as_ref()
                    .map(|scope| (scope.name.clone(), scope.version.clone()))
                    .unwrap_or_default();
                spans.extend(scope_spans.spans.iter().map(|span| ReceivedSpan {
                    span: span.clone(),
                    resource_attributes: resource_attributes.clone(),
                    scope_name: scope_name.clone(),
                    scope_version: scope_version.clone(),
                }));
            }
        }
        spans
    }

    /// Gunzips (when `Content-Encoding: gzip`) and decodes the body of a request just read, as
    /// the signal its path names.
    pub(super) fn decode(raw: RawRequest, connection: u64, status: Option<u16>) -> ReceivedRequest {
        let mut received = ReceivedRequest {
            method: raw.method,
            path: raw.path,
            target: raw.target,
            headers: raw.headers,
            body_len: raw.body.len(),
            decoded_len: 0,
            request: None,
            #[cfg(feature = "logs")]
            logs_request: None,
            decode_error: None,
            status,
            connection,
        };
        let bytes = match gunzip(received.header("content-encoding"), raw.body) {
            Ok(bytes) => bytes,
            Err(error) => {
                received.decode_error = Some(error);
                return received;
            }
        };
        received.decoded_len = bytes.len();
        let decoded = match Signal::of(&received.path) {
            Signal::Traces => protobuf(&bytes).map(|request| received.request = Some(request)),
            #[cfg(feature = "logs")]
            Signal::Logs => protobuf(&bytes).map(|request| received.logs_request = Some(request)),
        };
        received.decode_error = decoded.err();
        received
    }
}

/// Which OTLP signal a request carries, told by its path as OTLP/HTTP does.
enum Signal {
    /// Anything not recognised as another signal, so an exporter posting spans to an unusual
    /// path is still decoded.
    Traces,
    /// A path ending in `/v1/logs`.
    #[cfg(feature = "logs")]
    Logs,
}

impl Signal {
    fn of(path: &str) -> Signal {
        match path.split('?').next().unwrap_or(path) {
            #[cfg(feature = "logs")]
            path if path.ends_with("/v1/logs") => Signal::Logs,
            _ => Signal::Traces,
        }
    }
}

/// The body as sent, or gunzipped when `Content-Encoding: gzip`.
fn gunzip(encoding: Option<&str>, body: Vec<u8>) -> Result<Vec<u8>, String> {
    match encoding
        .map(|value| value.trim().to_ascii_lowercase())
        .as_deref()
    {
        None | Some("identity") => Ok(body),
        Some("gzip") => {
            let mut decoded = Vec::new();
            flate2::read::MultiGzDecoder::new(&body[..])
                .read_to_end(&mut decoded)
                .map(|_| decoded)
                .map_err(|error| format!("gzip: {error}"))
        }
        Some(other) => Err(format!("unsupported Content-Encoding {other:?}")),
    }
}

fn protobuf<M: prost::Message + Default>(bytes: &[u8]) -> Result<M, String> {
    M::decode(bytes).map_err(|error| format!("protobuf: {error}"))
}

/// One span from an accepted request, with the resource and instrumentation scope it came under.
///
/// # Example
///
/// ```
/// # use prost::Message as _;
/// # use opentelemetry_proto::tonic::{common::v1::*, resource::v1::Resource, trace::v1::*};
/// use std::time::Duration;
/// use mackerel_trace::testing::Receiver;
///
/// let receiver = Receiver::start();
/// # let kv = |k: &str, v: &str| KeyValue { key: k.into(), value: Some(AnyValue { value: Some(any_value::Value::StringValue(v.into())) }), ..Default::default() };
/// # let span = Span { name: "GET /orders".into(), trace_id: vec![0xab; 16], span_id: vec![0xcd; 8], attributes: vec![kv("http.route", "/orders")], ..Default::default() };
/// # let body = opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest { resource_spans: vec![ResourceSpans { resource: Some(Resource { attributes: vec![kv("service.name", "shop")], ..Default::default() }), scope_spans: vec![ScopeSpans { scope: Some(InstrumentationScope { name: "shop::http".into(), ..Default::default() }), spans: vec![span], ..Default::default() }], ..Default::default() }] }.encode_to_vec();
/// # let agent: ureq::Agent = ureq::Agent::config_builder().proxy(None).build().into();
/// # agent.post(receiver.endpoint()).send(body).unwrap();
/// // … the code under test exports a span …
/// let spans = receiver.wait_for_spans(1, Duration::from_secs(5));
/// let span = &spans[0];
/// assert_eq!(span.name(), "GET /orders");
/// assert_eq!(span.string_attr("http.route"), Some("/orders"));
/// assert_eq!(span.resource_string_attr("service.name"), Some("shop"));
/// assert_eq!(span.scope_name, "shop::http");
/// assert_eq!(span.trace_id(), "ab".repeat(16));
/// assert_eq!(span.parent_span_id(), None);
/// ```
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct ReceivedSpan {
    /// The span as decoded from the wire.
    pub span: Span,
    /// Attributes of the resource the span was exported under (`service.name`, …).
    pub resource_attributes: Vec<KeyValue>,
    /// Name of the instrumentation scope (the tracer's name).
    pub scope_name: String,
    /// Version of the instrumentation scope, empty when not set.
    pub scope_version: String,
}

impl ReceivedSpan {
    /// The span's name.
    ///
    /// See the [type-level example](ReceivedSpan#example).
    pub fn name(&self) -> &str {
        &self.span.name
    }

    /// A span attribute's value.
    ///
    /// See the [type-level example](ReceivedSpan#example).
    pub fn attr(&self, key: &str) -> Option<&AnyValue> {
        find(&self.span.attributes, key)
    }

    /// A span attribute's value when it is a string.
    ///
    /// See the [type-level example](ReceivedSpan#example).
    pub fn string_attr(&self, key: &str) -> Option<&str> {
        as_str(self.attr(key)?)
    }

    /// A span attribute's value when it is an integer.
    ///
    /// See the [type-level example](ReceivedSpan#example).
    pub fn int_attr(&self, key: &str) -> Option<i64> {
        as_int(self.attr(key)?)
    }

    /// A span attribute's value when it is a boolean.
    ///
    /// See the [type-level example](ReceivedSpan#example).
    pub fn bool_attr(&self, key: &str) -> Option<bool> {
        as_bool(self.attr(key)?)
    }

    /// A resource attribute's value.
    ///
    /// See the [type-level example](ReceivedSpan#example).
    pub fn resource_attr(&self, key: &str) -> Option<&AnyValue> {
        find(&self.resource_attributes, key)
    }

    /// A resource attribute's value when it is a string.
    ///
    /// See the [type-level example](ReceivedSpan#example).
    pub fn resource_string_attr(&self, key: &str) -> Option<&str> {
        as_str(self.resource_attr(key)?)
    }

    /// The first event with this name (e.g. `exception`).
    ///
    /// See the [type-level example](ReceivedSpan#example).
    pub fn event(&self, name: &str) -> Option<&span::Event> {
        self.span.events.iter().find(|event| event.name == name)
    }

    /// The trace id as 32 lowercase hex digits, as in a `traceparent` header.
    ///
    /// See the [type-level example](ReceivedSpan#example).
    pub fn trace_id(&self) -> String {
        hex(&self.span.trace_id)
    }

    /// The span id as 16 lowercase hex digits.
    ///
    /// See the [type-level example](ReceivedSpan#example).
    pub fn span_id(&self) -> String {
        hex(&self.span.span_id)
    }

    /// The parent span id as 16 lowercase hex digits; `None` for a root span.
    ///
    /// See the [type-level example](ReceivedSpan#example).
    pub fn parent_span_id(&self) -> Option<String> {
        (!self.span.parent_span_id.is_empty()).then(|| hex(&self.span.parent_span_id))
    }
}
