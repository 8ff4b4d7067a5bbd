//! The HTTP client `opentelemetry-otlp` posts through: synchronous ureq + rustls (so export
//! works from plain `main` and every tokio flavour), our headers only, gzip at level 1, the
//! proxy `Config` resolved, and each attempt bounded by what is left of the export's time.

use std::fmt;
use std::io::{Read as _, Write as _};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use http::header::{HeaderName, HeaderValue, ACCEPT, CONTENT_ENCODING, CONTENT_TYPE, USER_AGENT};
use opentelemetry_http::{Bytes, HttpClient, HttpError, Request, Response};

use super::forward;
use super::report::Report;
use crate::settings::{Compression, Proxy, Settings};

const API_KEY_HEADER: &str = "mackerel-api-key";
/// Responses are read only for their status and `Retry-After`; bodies past this are dropped.
const MAX_RESPONSE_BODY: u64 = 64 * 1024;

/// When the export in progress must be over: set by the export thread before each export,
/// read by every attempt of it (retries included).
#[derive(Debug, Default)]
pub(crate) struct Deadline(Mutex<Option<Instant>>);

impl Deadline {
    pub(crate) fn set(&self, deadline: Instant) {
        if let Ok(mut slot) = self.0.lock() {
            *slot = Some(deadline);
        }
    }

    fn remaining(&self) -> Option<Duration> {
        let deadline = (*self.0.lock().ok()?)?;
        Some(deadline.saturating_duration_since(Instant::now()))
    }
}

/// How requests reach the endpoint.
enum Route {
    /// Directly, or through a proxy's `CONNECT` tunnel for `https://` endpoints (ureq).
    Agent(ureq::Agent),
    /// As absolute-form requests to an HTTP proxy, for `http://` endpoints.
    Forward(Proxy),
}

/// Sends the exporter's requests as `Settings` say, whatever the exporter itself read from
/// the environment: only its body and content type are kept.
pub(crate) struct Client {
    route: Route,
    /// Sent with every request: `Accept`, `User-Agent`, configured headers, the API key.
    headers: Vec<(HeaderName, HeaderValue)>,
    gzip: bool,
    timeout: Duration,
    endpoint: String,
    proxy: Option<Proxy>,
    has_api_key: bool,
    deadline: Arc<Deadline>,
    report: Arc<Report>,
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client")
            .field("endpoint", &self.endpoint)
            .field("proxy", &self.proxy)
            .field("gzip", &self.gzip)
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

impl Client {
    pub(crate) fn new(
        settings: &Settings,
        endpoint: &str,
        deadline: Arc<Deadline>,
        report: Arc<Report>,
    ) -> Self {
        let proxy = settings.proxy.clone();
        let https = endpoint.starts_with("https://");
        let route = match &proxy {
            Some(proxy) if !https => Route::Forward(proxy.clone()),
            tunnel => Route::Agent(agent(tunnel.as_ref())),
        };
        let mut headers = vec![
            // Mackerel requires `Accept: */*` (it fronts ingestion with AWS Lambda).
            (ACCEPT, HeaderValue::from_static("*/*")),
            (
                USER_AGENT,
                HeaderValue::from_static(concat!("mackerel-trace/", env!("CARGO_PKG_VERSION"))),
            ),
        ];
        // Validated by `Config`; a value that still fails here is left out, never sent broken.
        headers.extend(settings.headers.iter().filter_map(|(name, value)| {
            Some((
                HeaderName::from_bytes(name.to_ascii_lowercase().as_bytes()).ok()?,
                HeaderValue::from_str(value.expose()).ok()?,
            ))
        }));
        if let Some(key) = &settings.api_key {
            if let Ok(mut value) = HeaderValue::from_str(key.expose()) {
                value.set_sensitive(true);
                headers.push((HeaderName::from_static(API_KEY_HEADER), value));
            }
        }
        Client {
            route,
            headers,
            gzip: settings.compression == Compression::Gzip,
            timeout: settings.export_timeout,
            endpoint: endpoint.to_owned(),
            proxy,
            has_api_key: settings.api_key.is_some(),
            deadline,
            report,
        }
    }

    /// One attempt: the request as `Settings` say, within what is left of the export's time.
    fn send(&self, request: Request<Bytes>) -> Result<Response<Bytes>, String> {
        let timeout = self
            .deadline
            .remaining()
            .map_or(self.timeout, |left| left.min(self.timeout));
        if timeout.is_zero() {
            return Err(format!(
                "{} did not accept the request within the export timeout",
                self.endpoint
            ));
        }
        let (parts, body) = request.into_parts();
        let content_type = parts
            .headers
            .get(CONTENT_TYPE)
            .cloned()
            .unwrap_or_else(|| HeaderValue::from_static("application/x-protobuf"));
        let mut headers = self.headers.clone();
        headers.push((CONTENT_TYPE, content_type));
        let body = match parts.headers.get(CONTENT_ENCODING) {
            None => body,
            // The exporter compressed by itself: another crate in the build enabled its
            // `gzip-http` and a variable asked for gzip. What goes out is what `Settings`
            // say, so start again from the protobuf.
            Some(encoding) if encoding == "gzip" => gunzip(&body)
                .map_err(|err| format!("could not read the exporter's request: {err}"))?
                .into(),
            Some(other) => {
                // Not one `Config` can ask for (it takes gzip or none): sent as it came.
                headers.push((CONTENT_ENCODING, other.clone()));
                return self.post(&parts.uri, &headers, &body, timeout);
            }
        };
        if !self.gzip {
            return self.post(&parts.uri, &headers, &body, timeout);
        }
        let compressed =
            gzip(&body).map_err(|err| format!("could not compress the request: {err}"))?;
        headers.push((CONTENT_ENCODING, HeaderValue::from_static("gzip")));
        self.post(&parts.uri, &headers, &compressed, timeout)
    }

    fn post(
        &self,
        uri: &http::Uri,
        headers: &[(HeaderName, HeaderValue)],
        body: &[u8],
        timeout: Duration,
    ) -> Result<Response<Bytes>, String> {
        let sent = match &self.route {
            Route::Agent(agent) => post(agent, uri, headers, body, timeout),
            Route::Forward(proxy) => {
                forward::post(proxy, uri, headers, body, timeout, MAX_RESPONSE_BODY)
                    .map_err(|err| err.to_string())
            }
        };
        sent.map_err(|err| match &self.proxy {
            Some(proxy) => format!(
                "could not reach {} through {proxy}: {err}; check that proxy, or name the endpoint's host in NO_PROXY",
                self.endpoint
            ),
            None => format!(
                "could not reach {}: {err}; check the endpoint URL and that a receiver is listening there",
                self.endpoint
            ),
        })
    }

    /// Tells the report why an attempt did not succeed, in words safe to print.
    fn note(&self, outcome: &Result<Response<Bytes>, String>) {
        let status = match outcome {
            Ok(response) if response.status().is_success() => {
                self.report.clear_failure();
                return;
            }
            Ok(response) => response.status().as_u16(),
            Err(why) => {
                self.report.note_failure(why.clone());
                return;
            }
        };
        if matches!(status, 400 | 401 | 403) && self.has_api_key {
            self.report.key_rejected(&self.endpoint, status);
            self.report.note_failure(format!(
                "{} answered HTTP {status} (API key refused)",
                self.endpoint
            ));
        } else {
            let hint = match status {
                404 | 405 => self.report.signal().wrong_path_hint(),
                429 | 502..=504 => "; retried, the receiver is overloaded or unavailable",
                _ => "",
            };
            self.report
                .note_failure(format!("{} answered HTTP {status}{hint}", self.endpoint));
        }
    }
}

#[async_trait::async_trait]
impl HttpClient for Client {
    async fn send_bytes(&self, request: Request<Bytes>) -> Result<Response<Bytes>, HttpError> {
        let outcome = self.send(request);
        self.note(&outcome);
        outcome.map_err(Into::into)
    }
}

/// A ureq agent that never reads proxy variables itself (ureq 3 applies the first of
/// `ALL_PROXY`, `HTTPS_PROXY`, `HTTP_PROXY` to every scheme): `tunnel` or nothing.
fn agent(tunnel: Option<&Proxy>) -> ureq::Agent {
    let proxy = tunnel.and_then(|proxy| ureq::Proxy::new(&proxy.url).ok());
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .max_redirects(0)
        .proxy(proxy)
        .build()
        .new_agent()
}

fn post(
    agent: &ureq::Agent,
    uri: &http::Uri,
    headers: &[(HeaderName, HeaderValue)],
    body: &[u8],
    timeout: Duration,
) -> Result<Response<Bytes>, String> {
    let mut request = agent
        .post(uri)
        .config()
        .timeout_global(Some(timeout))
        .build();
    for (name, value) in headers {
        request = request.header(name, value);
    }
    let mut response = request.send(body).map_err(|err| err.to_string())?;
    let status = response.status();
    let retry_after = response.headers().get(http::header::RETRY_AFTER).cloned();
    // Read what there is (bounded), so the connection can be reused.
    let body = response
        .body_mut()
        .with_config()
        .limit(MAX_RESPONSE_BODY)
        .read_to_vec()
        .unwrap_or_default();
    let mut answer = Response::builder().status(status);
    if let Some(value) = retry_after {
        answer = answer.header(http::header::RETRY_AFTER, value);
    }
    answer
        .body(Bytes::from(body))
        .map_err(|err| err.to_string())
}

/// Level 1: bodies 2.4× smaller than uncompressed, and only 4.5% bigger than at the default
/// level 6, which cuts export throughput to a third (BENCHMARKS.md, "End-to-end export").
fn gunzip(body: &[u8]) -> std::io::Result<Vec<u8>> {
    let mut raw = Vec::with_capacity(body.len() * 4);
    flate2::read::GzDecoder::new(body).read_to_end(&mut raw)?;
    Ok(raw)
}

fn gzip(body: &[u8]) -> std::io::Result<Vec<u8>> {
    let mut encoder = flate2::write::GzEncoder::new(
        Vec::with_capacity(body.len() / 4),
        flate2::Compression::fast(),
    );
    encoder.write_all(body)?;
    encoder.finish()
}
