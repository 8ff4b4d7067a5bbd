//! OTLP/HTTP protobuf export: spans → size-bounded requests → gzip → POST, with retry.

use std::io::Write;
use std::time::{Duration, Instant};

use opentelemetry::InstrumentationScope;
use opentelemetry_proto::tonic::common::v1::{
    AnyValue, InstrumentationScope as ProtoScope, KeyValue,
};
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_sdk::trace::SpanData;
use prost::Message;

use super::report::Report;
use super::retry;
use crate::config::{Compression, Settings};

/// Mackerel rejects requests over 6 MB; like Mackerel's own Collector exporter we stay under
/// 3.5 MiB of encoded protobuf per request, measured before compression.
pub(crate) const MAX_REQUEST_BYTES: usize = 3_670_016;

/// Posts spans to one OTLP/HTTP traces endpoint. Used by the single export worker thread.
pub(crate) struct OtlpExporter {
    agent: ureq::Agent,
    endpoint: String,
    headers: Vec<(String, String)>,
    compression: Compression,
    timeout: Duration,
    /// The resource, encoded once: every request carries the same.
    resource: Vec<u8>,
    max_request_bytes: usize,
    /// Reused between requests: spans encoded straight from `SpanData` and grouped by scope
    /// (no intermediate `opentelemetry-proto` structs), one span's scratch encoding, and the
    /// body (the encoded request, or its gzip).
    request: RequestBuilder,
    scratch: Vec<u8>,
    body: Vec<u8>,
}

impl std::fmt::Debug for OtlpExporter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OtlpExporter")
            .field("endpoint", &self.endpoint)
            .field("compression", &self.compression)
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

/// Why an export did not succeed.
enum Failure {
    /// The endpoint refused the API key.
    KeyRejected(u16),
    /// Anything else; the text is safe to print (no key, no header values).
    Other(String),
}

impl OtlpExporter {
    pub(crate) fn new(settings: &Settings, endpoint: String) -> Self {
        let agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .user_agent(concat!("mackerel-trace/", env!("CARGO_PKG_VERSION")))
            // Mackerel requires `Accept: */*` (it fronts ingestion with AWS Lambda).
            .accept("*/*")
            .max_redirects(0)
            .timeout_global(Some(settings.export_timeout))
            .build()
            .new_agent();
        let mut headers = settings.headers.clone();
        if let Some(key) = &settings.api_key {
            headers.push(("Mackerel-Api-Key".to_owned(), key.expose().to_owned()));
        }
        OtlpExporter {
            agent,
            endpoint,
            headers,
            compression: settings.compression,
            timeout: settings.export_timeout.min(settings.bsp_export_timeout),
            resource: Resource {
                attributes: settings
                    .resource
                    .iter()
                    .map(|kv| KeyValue {
                        key: kv.key.to_string(),
                        value: Some(AnyValue::from(kv.value.clone())),
                        ..KeyValue::default()
                    })
                    .collect(),
                dropped_attributes_count: 0,
                entity_refs: Vec::new(),
            }
            .encode_to_vec(),
            max_request_bytes: MAX_REQUEST_BYTES,
            request: RequestBuilder::default(),
            scratch: Vec::new(),
            body: Vec::new(),
        }
    }

    /// Exports `batch` in as many requests as its encoded size needs, counting every span
    /// as exported or dropped in `report`.
    pub(crate) fn export(&mut self, batch: Vec<SpanData>, report: &Report) {
        if batch.is_empty() {
            return;
        }
        let resource_len = self.resource.len() + 16;
        let budget = self.max_request_bytes.saturating_sub(resource_len);
        self.request.clear();
        for span in &batch {
            let scope = &span.instrumentation_scope;
            self.scratch.clear();
            wire::encode_span(span, &mut self.scratch);
            let span_len = framed_len(self.scratch.len());
            if span_len + scope_overhead(scope) > budget {
                report.export_failed(
                    1,
                    format!(
                        "a span of {span_len} bytes is larger than the {budget}-byte request limit"
                    ),
                );
                continue;
            }
            if self.request.len + span_len + scope_overhead(scope) > budget {
                self.send(report);
                self.request.clear();
            }
            self.request.push(scope, &self.scratch, span_len);
        }
        // The spans are freed here, on the export thread, after their last use.
        drop(batch);
        self.send(report);
        self.request.clear();
    }

    /// Encodes (and compresses) the spans gathered in `self.request` and posts them.
    fn send(&mut self, report: &Report) {
        let spans = self.request.spans;
        if spans == 0 {
            return;
        }
        let gzip = self.compression == Compression::Gzip;
        let mut body = std::mem::take(&mut self.body);
        body.clear();
        let written = if gzip {
            // Level 1: several times faster than the default level for ~10% larger bodies;
            // export throughput is CPU-bound on compression otherwise. The request is
            // encoded straight into the compressor, without an intermediate buffer.
            let mut encoder = flate2::write::GzEncoder::new(body, flate2::Compression::fast());
            let written = self.request.write(&self.resource, &mut encoder);
            match written.and_then(|()| encoder.finish()) {
                Ok(compressed) => {
                    body = compressed;
                    Ok(())
                }
                Err(err) => {
                    body = Vec::new();
                    Err(format!("could not compress the request: {err}"))
                }
            }
        } else {
            body.reserve(self.request.encoded_len(self.resource.len()));
            self.request
                .write(&self.resource, &mut body)
                .map_err(|err| format!("could not encode the request: {err}"))
        };
        if let Err(why) = written {
            self.body = body;
            report.export_failed(spans, why);
            return;
        }
        let posted = self.post(&body, gzip);
        self.body = body;
        match posted {
            Ok(()) => report.exported(spans),
            Err(Failure::KeyRejected(status)) => {
                report.key_rejected(&self.endpoint, status);
                report.export_failed(
                    spans,
                    format!("{} answered HTTP {status} (API key refused)", self.endpoint),
                );
            }
            Err(Failure::Other(why)) => report.export_failed(spans, why),
        }
    }

    /// Posts the prepared body, retrying what can succeed later, within the export timeout.
    fn post(&self, body: &[u8], gzip: bool) -> Result<(), Failure> {
        let deadline = Instant::now() + self.timeout;
        let mut attempt = 0;
        loop {
            let remaining = deadline.saturating_duration_since(Instant::now());
            if remaining.is_zero() {
                return Err(Failure::Other(format!(
                    "{} did not accept the request within the export timeout ({} ms)",
                    self.endpoint,
                    self.timeout.as_millis()
                )));
            }
            let mut request = self
                .agent
                .post(&self.endpoint)
                .config()
                .timeout_global(Some(remaining))
                .build()
                .header("Content-Type", "application/x-protobuf");
            if gzip {
                request = request.header("Content-Encoding", "gzip");
            }
            for (name, value) in &self.headers {
                request = request.header(name, value);
            }
            let (why, retry_after) = match request.send(body) {
                Ok(response) => {
                    let status = response.status().as_u16();
                    if (200..300).contains(&status) {
                        return Ok(());
                    }
                    if retry::is_key_rejection(status) && self.has_api_key() {
                        return Err(Failure::KeyRejected(status));
                    }
                    let why = format!("{} answered HTTP {status}", self.endpoint);
                    if !retry::is_retryable_status(status) {
                        return Err(Failure::Other(why));
                    }
                    let retry_after = response
                        .headers()
                        .get("retry-after")
                        .and_then(|v| v.to_str().ok())
                        .map(str::to_owned);
                    (why, retry_after)
                }
                Err(err) => (format!("could not reach {}: {err}", self.endpoint), None),
            };
            let wait = retry::backoff(attempt, retry_after.as_deref());
            if Instant::now() + wait >= deadline {
                return Err(Failure::Other(format!(
                    "{why}; gave up within the export timeout"
                )));
            }
            std::thread::sleep(wait);
            attempt += 1;
        }
    }

    fn has_api_key(&self) -> bool {
        self.headers
            .iter()
            .any(|(name, _)| name.eq_ignore_ascii_case("mackerel-api-key"))
    }
}

/// Spans grouped by instrumentation scope, already encoded, with the request's size so far.
///
/// Kept by the exporter and cleared between requests, so its buffers are reused.
#[derive(Default)]
struct RequestBuilder {
    groups: Vec<ScopeGroup>,
    /// Groups in use: those past it are spare buffers from earlier requests.
    used: usize,
    len: usize,
    spans: usize,
}

struct ScopeGroup {
    scope: InstrumentationScope,
    /// The `InstrumentationScope` message, encoded.
    scope_message: Vec<u8>,
    schema_url: String,
    /// The group's spans, each framed as field 2 of `ScopeSpans`.
    spans: Vec<u8>,
}

impl ScopeGroup {
    /// Length of the `ScopeSpans` message.
    fn encoded_len(&self) -> usize {
        framed_len(self.scope_message.len()) + self.spans.len() + string_field_len(&self.schema_url)
    }
}

impl RequestBuilder {
    fn clear(&mut self) {
        for group in &mut self.groups[..self.used] {
            group.spans.clear();
        }
        self.used = 0;
        self.len = 0;
        self.spans = 0;
    }

    /// Adds one encoded `Span` message.
    fn push(&mut self, scope: &InstrumentationScope, span: &[u8], span_len: usize) {
        let index = match self.groups[..self.used]
            .iter()
            .position(|group| group.scope == *scope)
        {
            Some(index) => index,
            None => {
                self.len += scope_overhead(scope);
                let scope_message = ProtoScope {
                    name: scope.name().to_owned(),
                    version: scope.version().map(str::to_owned).unwrap_or_default(),
                    attributes: Vec::new(),
                    dropped_attributes_count: 0,
                }
                .encode_to_vec();
                let schema_url = scope.schema_url().map(str::to_owned).unwrap_or_default();
                if self.used < self.groups.len() {
                    let group = &mut self.groups[self.used];
                    if group.scope != *scope {
                        group.scope = scope.clone();
                        group.scope_message = scope_message;
                        group.schema_url = schema_url;
                    }
                } else {
                    self.groups.push(ScopeGroup {
                        scope: scope.clone(),
                        scope_message,
                        schema_url,
                        spans: Vec::new(),
                    });
                }
                self.used += 1;
                self.used - 1
            }
        };
        let spans = &mut self.groups[index].spans;
        wire::put_len_prefix(2, span.len(), spans);
        spans.extend_from_slice(span);
        self.len += span_len;
        self.spans += 1;
    }

    /// Length of the `ResourceSpans` message.
    fn resource_spans_len(&self, resource_len: usize) -> usize {
        framed_len(resource_len)
            + self.groups[..self.used]
                .iter()
                .map(|group| framed_len(group.encoded_len()))
                .sum::<usize>()
    }

    /// Length of the `ExportTraceServiceRequest` message.
    fn encoded_len(&self, resource_len: usize) -> usize {
        framed_len(self.resource_spans_len(resource_len))
    }

    /// Writes the `ExportTraceServiceRequest`: one `ResourceSpans` with a `ScopeSpans` per scope.
    fn write(&self, resource: &[u8], out: &mut impl Write) -> std::io::Result<()> {
        let mut head = Vec::with_capacity(32);
        wire::put_len_prefix(1, self.resource_spans_len(resource.len()), &mut head);
        wire::put_len_prefix(1, resource.len(), &mut head);
        out.write_all(&head)?;
        out.write_all(resource)?;
        for group in &self.groups[..self.used] {
            head.clear();
            wire::put_len_prefix(2, group.encoded_len(), &mut head);
            wire::put_len_prefix(1, group.scope_message.len(), &mut head);
            head.extend_from_slice(&group.scope_message);
            out.write_all(&head)?;
            out.write_all(&group.spans)?;
            if !group.schema_url.is_empty() {
                head.clear();
                wire::put_len_prefix(3, group.schema_url.len(), &mut head);
                head.extend_from_slice(group.schema_url.as_bytes());
                out.write_all(&head)?;
            }
        }
        Ok(())
    }
}

/// Encoded size of a string field, which proto3 omits when empty.
fn string_field_len(value: &str) -> usize {
    if value.is_empty() {
        0
    } else {
        framed_len(value.len())
    }
}

/// Encoded size of a length-delimited field holding `len` bytes: tag, length varint, payload.
fn framed_len(len: usize) -> usize {
    1 + prost::encoding::encoded_len_varint(len as u64) + len
}

/// An upper bound on what a new scope group adds to a request.
fn scope_overhead(scope: &InstrumentationScope) -> usize {
    32 + scope.name().len()
        + scope.version().map_or(0, str::len)
        + scope.schema_url().map_or(0, str::len)
}

/// Protobuf encoding of OTLP `Span`s straight from `SpanData`: the bytes `prost` writes for the
/// `opentelemetry-proto` conversion (`Span::from(span_data)`), same fields in the same (tag) order,
/// without building those structs — no per-span allocation, no copies of names and values.
mod wire {
    use std::time::{SystemTime, UNIX_EPOCH};

    use opentelemetry::trace::{Event, Link, SpanContext, SpanId, Status};
    use opentelemetry::{KeyValue, Value};
    use opentelemetry_proto::tonic::common::v1::AnyValue;
    use opentelemetry_proto::tonic::trace::v1::{span, status, SpanFlags};
    use opentelemetry_sdk::trace::SpanData;
    use prost::encoding::{encode_key, encode_varint, encoded_len_varint, WireType};
    use prost::Message as _;

    /// Appends the `Span` message of `span` (unframed) to `out`.
    pub(super) fn encode_span(span: &SpanData, out: &mut Vec<u8>) {
        let cx = &span.span_context;
        put_bytes(1, &cx.trace_id().to_bytes(), out);
        put_bytes(2, &cx.span_id().to_bytes(), out);
        put_trace_state(3, cx, out);
        if span.parent_span_id != SpanId::INVALID {
            put_bytes(4, &span.parent_span_id.to_bytes(), out);
        }
        put_bytes(5, span.name.as_bytes(), out);
        put_varint(
            6,
            span::SpanKind::from(span.span_kind.clone()) as i32 as u64,
            out,
        );
        put_fixed64(7, to_nanos(span.start_time), out);
        put_fixed64(8, to_nanos(span.end_time), out);
        for kv in &span.attributes {
            put_key_value(9, kv, out);
        }
        put_varint(10, u64::from(span.dropped_attributes_count), out);
        for event in span.events.iter() {
            put_nested(11, out, |body| encode_event(event, body));
        }
        put_varint(12, u64::from(span.events.dropped_count), out);
        for link in span.links.iter() {
            put_nested(13, out, |body| encode_link(link, body));
        }
        put_varint(14, u64::from(span.links.dropped_count), out);
        // `status` is always present (possibly empty) in the conversion.
        let code = status::StatusCode::from(&span.status) as i32 as u64;
        let message = match &span.status {
            Status::Error { description } => description.as_ref(),
            _ => "",
        };
        let status_len = bytes_field_len(message.len()) + varint_field_len(code);
        put_len_prefix(15, status_len, out);
        put_bytes(2, message.as_bytes(), out);
        put_varint(3, code, out);
        // prost writes fields in tag order: `flags` (16) last.
        put_fixed32(16, flags(span.parent_span_is_remote, cx), out);
    }

    fn encode_event(event: &Event, out: &mut Vec<u8>) {
        put_fixed64(1, to_nanos(event.timestamp), out);
        put_bytes(2, event.name.as_bytes(), out);
        for kv in &event.attributes {
            put_key_value(3, kv, out);
        }
        put_varint(4, u64::from(event.dropped_attributes_count), out);
    }

    fn encode_link(link: &Link, out: &mut Vec<u8>) {
        let cx = &link.span_context;
        put_bytes(1, &cx.trace_id().to_bytes(), out);
        put_bytes(2, &cx.span_id().to_bytes(), out);
        put_trace_state(3, cx, out);
        for kv in &link.attributes {
            put_key_value(4, kv, out);
        }
        put_varint(5, u64::from(link.dropped_attributes_count), out);
        put_fixed32(6, flags(cx.is_remote(), cx), out);
    }

    /// As `opentelemetry-proto`'s `build_span_flags`.
    fn flags(remote: bool, cx: &SpanContext) -> u32 {
        let mut flags =
            u32::from(cx.trace_flags().to_u8()) | SpanFlags::ContextHasIsRemoteMask as u32;
        if remote {
            flags |= SpanFlags::ContextIsRemoteMask as u32;
        }
        flags
    }

    fn put_trace_state(tag: u32, cx: &SpanContext, out: &mut Vec<u8>) {
        let header = cx.trace_state().header();
        put_bytes(tag, header.as_bytes(), out);
    }

    fn to_nanos(time: SystemTime) -> u64 {
        time.duration_since(UNIX_EPOCH)
            .map_or(0, |elapsed| elapsed.as_nanos() as u64)
    }

    /// A `KeyValue` message as field `tag`; `key_strindex` is never set.
    fn put_key_value(tag: u32, kv: &KeyValue, out: &mut Vec<u8>) {
        let key = kv.key.as_str();
        let value = AnyValueRef::new(&kv.value);
        let value_len = value.encoded_len();
        put_len_prefix(
            tag,
            bytes_field_len(key.len()) + 1 + encoded_len_varint(value_len as u64) + value_len,
            out,
        );
        put_bytes(1, key.as_bytes(), out);
        // `value` is always `Some`, so always written, even when empty.
        put_len_prefix(2, value_len, out);
        value.write(out);
    }

    /// The body of an `AnyValue` message; the `oneof` is written even when it holds a default.
    enum AnyValueRef<'a> {
        String(&'a str),
        Bool(bool),
        Int(i64),
        Double(f64),
        /// Arrays and whatever else: through the `opentelemetry-proto` conversion.
        Other(Vec<u8>),
    }

    impl<'a> AnyValueRef<'a> {
        fn new(value: &'a Value) -> Self {
            match value {
                Value::String(s) => AnyValueRef::String(s.as_str()),
                Value::Bool(b) => AnyValueRef::Bool(*b),
                Value::I64(i) => AnyValueRef::Int(*i),
                Value::F64(f) => AnyValueRef::Double(*f),
                other => AnyValueRef::Other(AnyValue::from(other.clone()).encode_to_vec()),
            }
        }

        fn encoded_len(&self) -> usize {
            match self {
                AnyValueRef::String(s) => framed(s.len()),
                AnyValueRef::Bool(_) => 2,
                AnyValueRef::Int(i) => 1 + encoded_len_varint(*i as u64),
                AnyValueRef::Double(_) => 9,
                AnyValueRef::Other(bytes) => bytes.len(),
            }
        }

        fn write(&self, out: &mut Vec<u8>) {
            match self {
                AnyValueRef::String(s) => {
                    put_len_prefix(1, s.len(), out);
                    out.extend_from_slice(s.as_bytes());
                }
                AnyValueRef::Bool(b) => {
                    encode_key(2, WireType::Varint, out);
                    encode_varint(u64::from(*b), out);
                }
                AnyValueRef::Int(i) => {
                    encode_key(3, WireType::Varint, out);
                    encode_varint(*i as u64, out);
                }
                AnyValueRef::Double(f) => {
                    encode_key(4, WireType::SixtyFourBit, out);
                    out.extend_from_slice(&f.to_le_bytes());
                }
                AnyValueRef::Other(bytes) => out.extend_from_slice(bytes),
            }
        }
    }

    /// A nested message whose length is only known once written: written to a buffer first.
    /// Used for events and links, which are rare next to spans and attributes.
    fn put_nested(tag: u32, out: &mut Vec<u8>, write: impl FnOnce(&mut Vec<u8>)) {
        let mut body = Vec::new();
        write(&mut body);
        put_len_prefix(tag, body.len(), out);
        out.extend_from_slice(&body);
    }

    /// Tag and length of a length-delimited field; the caller writes the payload.
    pub(super) fn put_len_prefix(tag: u32, len: usize, out: &mut Vec<u8>) {
        encode_key(tag, WireType::LengthDelimited, out);
        encode_varint(len as u64, out);
    }

    /// A `bytes` or `string` field, omitted when empty (proto3).
    fn put_bytes(tag: u32, bytes: &[u8], out: &mut Vec<u8>) {
        if !bytes.is_empty() {
            put_len_prefix(tag, bytes.len(), out);
            out.extend_from_slice(bytes);
        }
    }

    /// A varint field, omitted when zero (proto3).
    fn put_varint(tag: u32, value: u64, out: &mut Vec<u8>) {
        if value != 0 {
            encode_key(tag, WireType::Varint, out);
            encode_varint(value, out);
        }
    }

    fn put_fixed32(tag: u32, value: u32, out: &mut Vec<u8>) {
        if value != 0 {
            encode_key(tag, WireType::ThirtyTwoBit, out);
            out.extend_from_slice(&value.to_le_bytes());
        }
    }

    fn put_fixed64(tag: u32, value: u64, out: &mut Vec<u8>) {
        if value != 0 {
            encode_key(tag, WireType::SixtyFourBit, out);
            out.extend_from_slice(&value.to_le_bytes());
        }
    }

    /// Length of a field with a one-byte tag and a `len`-byte payload.
    fn framed(len: usize) -> usize {
        1 + encoded_len_varint(len as u64) + len
    }

    fn bytes_field_len(len: usize) -> usize {
        if len == 0 {
            0
        } else {
            framed(len)
        }
    }

    fn varint_field_len(value: u64) -> usize {
        if value == 0 {
            0
        } else {
            1 + encoded_len_varint(value)
        }
    }

    #[cfg(test)]
    mod tests {
        use std::borrow::Cow;
        use std::time::Duration;

        use opentelemetry::trace::{SpanKind, TraceFlags, TraceId, TraceState};
        use opentelemetry::{Array, InstrumentationScope, StringValue};
        use opentelemetry_proto::tonic::trace::v1::Span;
        use opentelemetry_sdk::trace::{SpanEvents, SpanLinks};

        use super::*;

        fn context(trace: u128, span: u64, remote: bool, state: &str) -> SpanContext {
            SpanContext::new(
                TraceId::from(trace),
                SpanId::from(span),
                TraceFlags::SAMPLED,
                remote,
                TraceState::from_key_value(
                    state
                        .split(',')
                        .filter(|kv| !kv.is_empty())
                        .filter_map(|kv| kv.split_once('=')),
                )
                .unwrap(),
            )
        }

        fn attributes() -> Vec<KeyValue> {
            vec![
                KeyValue::new("id", 42_i64),
                KeyValue::new("negative", -7_i64),
                KeyValue::new("zero", 0_i64),
                KeyValue::new("name", "work-item".to_owned()),
                KeyValue::new("empty", ""),
                KeyValue::new("", "no key"),
                KeyValue::new("yes", true),
                KeyValue::new("no", false),
                KeyValue::new("ratio", 0.25),
                KeyValue::new("nothing", 0.0),
                KeyValue::new("ids", Value::Array(Array::I64(vec![1, -2]))),
                KeyValue::new(
                    "names",
                    Value::Array(Array::String(vec![StringValue::from("a"), "".into()])),
                ),
                KeyValue::new("long", "x".repeat(300)),
            ]
        }

        fn span(variant: u32) -> SpanData {
            let start = UNIX_EPOCH + Duration::from_nanos(1_700_000_000_123_456_789);
            let full = variant % 2 == 1;
            SpanData {
                span_context: context(
                    0xabc + u128::from(variant),
                    0x1234,
                    false,
                    if full { "k=v,a=b" } else { "" },
                ),
                parent_span_id: if full {
                    SpanId::from(0x99)
                } else {
                    SpanId::INVALID
                },
                parent_span_is_remote: variant == 3,
                span_kind: [
                    SpanKind::Internal,
                    SpanKind::Server,
                    SpanKind::Client,
                    SpanKind::Producer,
                    SpanKind::Consumer,
                ][variant as usize % 5]
                    .clone(),
                name: if variant == 2 {
                    Cow::Owned(String::new())
                } else {
                    Cow::Borrowed("work")
                },
                start_time: start,
                end_time: start + Duration::from_micros(u64::from(variant) * 17),
                attributes: if variant == 0 {
                    Vec::new()
                } else {
                    attributes()
                },
                dropped_attributes_count: variant,
                events: events(full, start, variant),
                links: links(full, variant),
                status: match variant % 3 {
                    0 => Status::Unset,
                    1 => Status::Ok,
                    _ => Status::error(if variant == 2 { "" } else { "it broke" }),
                },
                instrumentation_scope: InstrumentationScope::builder("test").build(),
            }
        }

        fn events(full: bool, start: SystemTime, variant: u32) -> SpanEvents {
            let mut events = SpanEvents::default();
            if full {
                events.events = vec![
                    Event::new("exception", start, attributes(), 2),
                    Event::new("", UNIX_EPOCH, Vec::new(), 0),
                ];
            }
            events.dropped_count = variant / 2;
            events
        }

        fn links(full: bool, variant: u32) -> SpanLinks {
            let mut links = SpanLinks::default();
            if full {
                links.links = vec![
                    Link::new(context(7, 8, true, "x=y"), attributes(), 1),
                    Link::new(context(9, 10, false, ""), Vec::new(), 0),
                ];
            }
            links.dropped_count = variant;
            links
        }

        #[test]
        fn encodes_exactly_as_the_proto_conversion() {
            for variant in 0..8 {
                let span = span(variant);
                let mut ours = Vec::new();
                encode_span(&span, &mut ours);
                let theirs = Span::from(span.clone()).encode_to_vec();
                assert_eq!(ours, theirs, "variant {variant}");
                assert_eq!(Span::decode(&ours[..]).unwrap(), Span::from(span));
            }
        }
    }
}
