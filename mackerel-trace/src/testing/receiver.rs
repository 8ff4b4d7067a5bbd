//! A local OTLP/HTTP endpoint on 127.0.0.1, written by hand so tests can make it fail on purpose.

mod http;
mod received;
#[cfg(feature = "logs")]
mod received_log;
mod reply;
mod server;
mod values;

use std::net::SocketAddr;
use std::time::Duration;

pub use received::{ReceivedRequest, ReceivedSpan};
#[cfg(feature = "logs")]
pub use received_log::ReceivedLog;
pub use reply::Reply;

use server::Server;

/// A local OTLP/HTTP receiver: point an exporter at [`endpoint`](Receiver::endpoint), then assert
/// on the [`requests`](Receiver::requests) and [`spans`](Receiver::spans) it got.
///
/// It listens on `127.0.0.1` on a free port, serves each connection on its own thread (keep-alive,
/// `Content-Length` and chunked bodies), gunzips and decodes every body into the official
/// `opentelemetry-proto` types, and answers from a script of [`Reply`]s — so a test can make it
/// answer 503, close the connection or hang. Dropping it closes every connection and joins its
/// threads.
///
/// With the `logs` feature it also takes OTLP logs: a request whose path ends in `/v1/logs`
/// (see `logs_endpoint`) is decoded as an `ExportLogsServiceRequest`, and its records are
/// returned by `logs` and `wait_for_logs`, never by [`spans`](Receiver::spans). Every other path
/// is decoded as traces. Both signals share one script: each request, traces or logs, takes the
/// next [`Reply`] in arrival order.
///
/// # Example
///
/// ```
/// use std::io::Write as _;
/// use std::time::Duration;
///
/// use mackerel_trace::testing::Receiver;
/// use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
/// use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span};
/// use prost::Message as _;
///
/// let receiver = Receiver::start();
///
/// // Stand-in for the exporter under test: one span, protobuf, gzip, POST.
/// let export = ExportTraceServiceRequest {
///     resource_spans: vec![ResourceSpans {
///         scope_spans: vec![ScopeSpans {
///             spans: vec![Span { name: "checkout".into(), ..Default::default() }],
///             ..Default::default()
///         }],
///         ..Default::default()
///     }],
/// };
/// let mut gzip = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
/// gzip.write_all(&export.encode_to_vec())?;
/// let agent: ureq::Agent = ureq::Agent::config_builder().proxy(None).build().into();
/// agent
///     .post(receiver.endpoint())
///     .header("Content-Type", "application/x-protobuf")
///     .header("Content-Encoding", "gzip")
///     .send(gzip.finish()?)?;
///
/// let spans = receiver.wait_for_spans(1, Duration::from_secs(5));
/// assert_eq!(spans[0].name(), "checkout");
/// assert_eq!(receiver.requests()[0].header("content-type"), Some("application/x-protobuf"));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct Receiver {
    server: Server,
}

impl Receiver {
    /// Starts a receiver that answers every request with [`Reply::ok`].
    ///
    /// # Panics
    ///
    /// If it cannot bind a port on 127.0.0.1 or start its thread.
    ///
    /// ```
    /// let receiver = mackerel_trace::testing::Receiver::start();
    /// assert!(receiver.endpoint().starts_with("http://127.0.0.1:"));
    /// ```
    pub fn start() -> Receiver {
        Receiver::with_script(Vec::new())
    }

    /// Starts a receiver that answers the first requests with `replies`, in order, then with
    /// [`Reply::ok`]. The script is one queue for every request, whatever its path: trace and
    /// log exports take their replies from it in the order they arrive.
    ///
    /// # Panics
    ///
    /// If it cannot bind a port on 127.0.0.1 or start its thread.
    ///
    /// ```
    /// use mackerel_trace::testing::{Receiver, Reply};
    ///
    /// // The first export is refused, its retry accepted.
    /// let receiver = Receiver::with_script(vec![Reply::status(503)]);
    /// # drop(receiver);
    /// ```
    pub fn with_script(replies: impl IntoIterator<Item = Reply>) -> Receiver {
        let server =
            Server::start(replies.into_iter().collect()).expect("start a receiver on 127.0.0.1");
        Receiver { server }
    }

    /// Appends a reply to the script, used after those already queued.
    ///
    /// ```
    /// use mackerel_trace::testing::{Receiver, Reply};
    ///
    /// let receiver = Receiver::start();
    /// receiver.push_reply(Reply::status(429).header("Retry-After", "1"));
    /// ```
    pub fn push_reply(&self, reply: Reply) {
        self.server.push_reply(reply);
    }

    /// The OTLP traces URL to export to: `http://127.0.0.1:<port>/v1/traces`.
    ///
    /// ```
    /// let receiver = mackerel_trace::testing::Receiver::start();
    /// assert_eq!(receiver.endpoint(), format!("{}/v1/traces", receiver.base_url()));
    /// ```
    pub fn endpoint(&self) -> String {
        format!("{}/v1/traces", self.base_url())
    }

    /// The OTLP logs URL to export to: `http://127.0.0.1:<port>/v1/logs`.
    ///
    /// ```
    /// let receiver = mackerel_trace::testing::Receiver::start();
    /// assert_eq!(receiver.logs_endpoint(), format!("{}/v1/logs", receiver.base_url()));
    /// ```
    #[cfg(feature = "logs")]
    pub fn logs_endpoint(&self) -> String {
        format!("{}/v1/logs", self.base_url())
    }

    /// The receiver's root URL, `http://127.0.0.1:<port>`, for exporters that append the
    /// `/v1/traces` (or `/v1/logs`) path themselves.
    ///
    /// ```
    /// let receiver = mackerel_trace::testing::Receiver::start();
    /// assert_eq!(receiver.base_url(), format!("http://{}", receiver.local_addr()));
    /// ```
    pub fn base_url(&self) -> String {
        format!("http://{}", self.server.addr())
    }

    /// The address the receiver listens on.
    ///
    /// ```
    /// let receiver = mackerel_trace::testing::Receiver::start();
    /// assert!(receiver.local_addr().ip().is_loopback());
    /// ```
    pub fn local_addr(&self) -> SocketAddr {
        self.server.addr()
    }

    /// Every request received so far, in the order they were answered (or closed, or left
    /// hanging), whatever the answer.
    ///
    /// ```
    /// # use prost::Message as _;
    /// use mackerel_trace::testing::{Receiver, Reply};
    ///
    /// let receiver = Receiver::with_script(vec![Reply::status(503)]);
    /// # let agent: ureq::Agent = ureq::Agent::config_builder().proxy(None).http_status_as_error(false).build().into();
    /// # let body = opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest::default().encode_to_vec();
    /// # for _ in 0..2 { agent.post(receiver.endpoint()).send(&body[..]).unwrap(); }
    /// // … the code under test exports, is refused, retries …
    /// let requests = receiver.requests();
    /// assert_eq!(requests.len(), 2);
    /// assert!(!requests[0].accepted() && requests[1].accepted());
    /// assert_eq!(requests[0].spans().len(), requests[1].spans().len());
    /// ```
    pub fn requests(&self) -> Vec<ReceivedRequest> {
        self.server
            .with_requests(Duration::ZERO, |_| true, <[_]>::to_vec)
    }

    /// Every span of every request answered with a 2xx status, in arrival order: what the
    /// client was told was delivered.
    ///
    /// ```
    /// let receiver = mackerel_trace::testing::Receiver::start();
    /// assert!(receiver.spans().is_empty());
    /// ```
    pub fn spans(&self) -> Vec<ReceivedSpan> {
        self.server
            .with_requests(Duration::ZERO, |_| true, accepted_spans)
    }

    /// Waits until at least `count` requests were received or `timeout` passed, then returns
    /// every request received.
    ///
    /// ```
    /// use std::time::Duration;
    ///
    /// let receiver = mackerel_trace::testing::Receiver::start();
    /// // Nothing is sent: returns what arrived after the timeout, here nothing.
    /// assert!(receiver.wait_for_requests(1, Duration::from_millis(10)).is_empty());
    /// ```
    pub fn wait_for_requests(&self, count: usize, timeout: Duration) -> Vec<ReceivedRequest> {
        self.server
            .with_requests(timeout, |requests| requests.len() >= count, <[_]>::to_vec)
    }

    /// Waits until at least `count` spans arrived in 2xx-answered requests or `timeout` passed,
    /// then returns every such span (see [`spans`](Receiver::spans)).
    ///
    /// See the [type-level example](Receiver#example).
    pub fn wait_for_spans(&self, count: usize, timeout: Duration) -> Vec<ReceivedSpan> {
        self.server.with_requests(
            timeout,
            |requests| accepted_span_count(requests) >= count,
            accepted_spans,
        )
    }

    /// Every log record of every request answered with a 2xx status, in arrival order: what the
    /// client was told was delivered. Requests to `/v1/traces` add nothing here.
    ///
    /// ```
    /// let receiver = mackerel_trace::testing::Receiver::start();
    /// assert!(receiver.logs().is_empty());
    /// ```
    #[cfg(feature = "logs")]
    pub fn logs(&self) -> Vec<ReceivedLog> {
        self.server
            .with_requests(Duration::ZERO, |_| true, accepted_logs)
    }

    /// Waits until at least `count` log records arrived in 2xx-answered requests or `timeout`
    /// passed, then returns every such record (see [`logs`](Receiver::logs)).
    ///
    /// ```
    /// # use std::io::Write as _;
    /// # use prost::Message as _;
    /// use std::time::Duration;
    ///
    /// use mackerel_trace::testing::proto::collector::logs::v1::ExportLogsServiceRequest;
    /// use mackerel_trace::testing::proto::logs::v1::{LogRecord, ResourceLogs, ScopeLogs};
    /// use mackerel_trace::testing::Receiver;
    ///
    /// let receiver = Receiver::start();
    ///
    /// // Stand-in for the exporter under test: one record, protobuf, gzip, POST to /v1/logs.
    /// let export = ExportLogsServiceRequest {
    ///     resource_logs: vec![ResourceLogs {
    ///         scope_logs: vec![ScopeLogs {
    ///             log_records: vec![LogRecord { severity_text: "WARN".into(), ..Default::default() }],
    ///             ..Default::default()
    ///         }],
    ///         ..Default::default()
    ///     }],
    /// };
    /// let mut gzip = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    /// gzip.write_all(&export.encode_to_vec())?;
    /// let agent: ureq::Agent = ureq::Agent::config_builder().proxy(None).build().into();
    /// agent
    ///     .post(receiver.logs_endpoint())
    ///     .header("Content-Type", "application/x-protobuf")
    ///     .header("Content-Encoding", "gzip")
    ///     .send(gzip.finish()?)?;
    ///
    /// let logs = receiver.wait_for_logs(1, Duration::from_secs(5));
    /// assert_eq!(logs[0].severity_text(), "WARN");
    /// assert!(receiver.spans().is_empty());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[cfg(feature = "logs")]
    pub fn wait_for_logs(&self, count: usize, timeout: Duration) -> Vec<ReceivedLog> {
        self.server.with_requests(
            timeout,
            |requests| accepted_log_count(requests) >= count,
            accepted_logs,
        )
    }
}

impl std::fmt::Debug for Receiver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Receiver")
            .field("addr", &self.server.addr())
            .field(
                "requests",
                &self
                    .server
                    .with_requests(Duration::ZERO, |_| true, <[_]>::len),
            )
            .finish_non_exhaustive()
    }
}

fn accepted_span_count(requests: &[ReceivedRequest]) -> usize {
    requests
        .iter()
        .filter(|request| request.accepted())
        .filter_map(|request| request.request.as_ref())
        .flat_map(|request| &request.resource_spans)
        .flat_map(|resource_spans| &resource_spans.scope_spans)
        .map(|scope_spans| scope_spans.spans.len())
        .sum()
}

fn accepted_spans(requests: &[ReceivedRequest]) -> Vec<ReceivedSpan> {
    requests
        .iter()
        .filter(|request| request.accepted())
        .flat_map(ReceivedRequest::spans)
        .collect()
}

#[cfg(feature = "logs")]
fn accepted_log_count(requests: &[ReceivedRequest]) -> usize {
    requests
        .iter()
        .filter(|request| request.accepted())
        .filter_map(|request| request.logs_request.as_ref())
        .flat_map(|request| &request.resource_logs)
        .flat_map(|resource_logs| &resource_logs.scope_logs)
        .map(|scope_logs| scope_logs.log_records.len())
        .sum()
}

#[cfg(feature = "logs")]
fn accepted_logs(requests: &[ReceivedRequest]) -> Vec<ReceivedLog> {
    requests
        .iter()
        .filter(|request| request.accepted())
        .flat_map(ReceivedRequest::logs)
        .collect()
}
