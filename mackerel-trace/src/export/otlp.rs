//! OTLP/HTTP protobuf export: spans → size-bounded requests → gzip → POST, with retry.

use std::io::Write as _;
use std::time::{Duration, Instant};

use opentelemetry::InstrumentationScope;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::{
    AnyValue, InstrumentationScope as ProtoScope, KeyValue,
};
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span};
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
    resource: Resource,
    max_request_bytes: usize,
    /// Reused between requests: the encoded protobuf and the compressed body.
    encoded: Vec<u8>,
    compressed: Vec<u8>,
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
            },
            max_request_bytes: MAX_REQUEST_BYTES,
            encoded: Vec::new(),
            compressed: Vec::new(),
        }
    }

    /// Exports `batch` in as many requests as its encoded size needs, counting every span
    /// as exported or dropped in `report`.
    pub(crate) fn export(&mut self, batch: Vec<SpanData>, report: &Report) {
        if batch.is_empty() {
            return;
        }
        let resource_len = self.resource.encoded_len() + 16;
        let budget = self.max_request_bytes.saturating_sub(resource_len);
        let mut request = RequestBuilder::default();
        for span in batch {
            let scope = span.instrumentation_scope.clone();
            let span = Span::from(span);
            let span_len = framed_len(span.encoded_len());
            if span_len + scope_overhead(&scope) > budget {
                report.export_failed(
                    1,
                    format!(
                        "a span of {span_len} bytes is larger than the {budget}-byte request limit"
                    ),
                );
                continue;
            }
            if request.len + span_len + scope_overhead(&scope) > budget {
                let full = std::mem::take(&mut request);
                self.send(full, report);
            }
            request.push(scope, span, span_len);
        }
        self.send(request, report);
    }

    fn send(&mut self, request: RequestBuilder, report: &Report) {
        let spans = request.spans;
        if spans == 0 {
            return;
        }
        let message = ExportTraceServiceRequest {
            resource_spans: vec![ResourceSpans {
                resource: Some(self.resource.clone()),
                scope_spans: request.scopes,
                schema_url: String::new(),
            }],
        };
        self.encoded.clear();
        self.encoded.reserve(message.encoded_len());
        if message.encode(&mut self.encoded).is_err() {
            report.export_failed(spans, "could not encode the request".to_owned());
            return;
        }
        let gzip = self.compression == Compression::Gzip;
        if gzip {
            self.compressed.clear();
            // Level 1: several times faster than the default level for ~10% larger bodies;
            // export throughput is CPU-bound on compression otherwise.
            let mut encoder = flate2::write::GzEncoder::new(
                std::mem::take(&mut self.compressed),
                flate2::Compression::fast(),
            );
            let written = encoder.write_all(&self.encoded);
            match written.and_then(|()| encoder.finish()) {
                Ok(body) => self.compressed = body,
                Err(err) => {
                    report.export_failed(spans, format!("could not compress the request: {err}"));
                    return;
                }
            }
        }
        match self.post(gzip) {
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
    fn post(&self, gzip: bool) -> Result<(), Failure> {
        let body: &[u8] = if gzip {
            &self.compressed
        } else {
            &self.encoded
        };
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

/// Spans grouped by instrumentation scope, with their encoded size so far.
#[derive(Default)]
struct RequestBuilder {
    scopes: Vec<ScopeSpans>,
    keys: Vec<InstrumentationScope>,
    len: usize,
    spans: usize,
}

impl RequestBuilder {
    fn push(&mut self, scope: InstrumentationScope, span: Span, span_len: usize) {
        let index = match self.keys.iter().position(|known| *known == scope) {
            Some(index) => index,
            None => {
                self.len += scope_overhead(&scope);
                self.scopes.push(ScopeSpans {
                    scope: Some(ProtoScope {
                        name: scope.name().to_owned(),
                        version: scope.version().map(str::to_owned).unwrap_or_default(),
                        attributes: Vec::new(),
                        dropped_attributes_count: 0,
                    }),
                    spans: Vec::new(),
                    schema_url: scope.schema_url().map(str::to_owned).unwrap_or_default(),
                });
                self.keys.push(scope);
                self.scopes.len() - 1
            }
        };
        self.scopes[index].spans.push(span);
        self.len += span_len;
        self.spans += 1;
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
