//! The web stack over real sockets: an `axum::serve` app on 127.0.0.1 with `ServerLayer`,
//! called with reqwest (`send_traced()` and plain `send()`), exporting to the local OTLP
//! receiver. What Mackerel's HTTP view reads is checked on the decoded wire spans: kind,
//! name, method, route or path, status code as an int, error status, parent links across the
//! hop, and the W3C context in and out.

mod support;

use std::future::Future as _;
use std::pin::Pin;
use std::task::{Context as TaskContext, Poll};
use std::time::Duration;

use axum::extract::Path;
use axum::http::StatusCode;
use axum::routing::get;
use axum::Router;
use bytes::Bytes;
use mackerel_trace::opentelemetry::baggage::BaggageExt as _;
use mackerel_trace::opentelemetry::{Context, KeyValue};
use mackerel_trace::reqwest::RequestBuilderExt as _;
use mackerel_trace::testing::{ReceivedSpan, Receiver};
use mackerel_trace::tower::{ClientLayer, ServerLayer};
use mackerel_trace::traced;

const SERVER: i32 = 2;
const CLIENT: i32 = 3;
const STATUS_ERROR: i32 = 2;

#[traced(record(order.id = id))]
fn load_order(id: u64) -> u64 {
    id * 10
}

async fn order(Path(id): Path<u64>) -> String {
    format!("order {}", load_order(id))
}

async fn fail() -> StatusCode {
    StatusCode::SERVICE_UNAVAILABLE
}

async fn bad() -> StatusCode {
    StatusCode::BAD_REQUEST
}

async fn panics() -> &'static str {
    panic!("handler exploded")
}

async fn baggage() -> String {
    Context::current()
        .baggage()
        .get("tenant")
        .map(|v| v.to_string())
        .unwrap_or_default()
}

/// Two frames, 150 ms apart: the server span must cover the whole body.
struct SlowBody {
    frames: u8,
    sleep: Pin<Box<tokio::time::Sleep>>,
}

impl http_body::Body for SlowBody {
    type Data = Bytes;
    type Error = std::convert::Infallible;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut TaskContext<'_>,
    ) -> Poll<Option<Result<http_body::Frame<Bytes>, Self::Error>>> {
        if self.frames == 0 {
            return Poll::Ready(None);
        }
        if self.sleep.as_mut().poll(cx).is_pending() {
            return Poll::Pending;
        }
        self.frames -= 1;
        let next = tokio::time::Instant::now() + Duration::from_millis(150);
        self.sleep.as_mut().reset(next);
        Poll::Ready(Some(Ok(http_body::Frame::data(Bytes::from_static(
            b"chunk",
        )))))
    }
}

async fn stream() -> axum::response::Response {
    axum::response::Response::new(axum::body::Body::new(SlowBody {
        frames: 2,
        sleep: Box::pin(tokio::time::sleep(Duration::from_millis(150))),
    }))
}

fn app() -> Router {
    Router::new()
        .route("/orders/{id}", get(order))
        .route("/fail", get(fail))
        .route("/bad", get(bad))
        .route("/panic", get(panics))
        .route("/baggage", get(baggage))
        .route("/stream", get(stream))
        .layer(ServerLayer::new())
}

fn int(span: &ReceivedSpan, key: &str) -> Option<i64> {
    span.int_attr(key)
}

fn by_name<'a>(spans: &'a [ReceivedSpan], name: &str) -> &'a ReceivedSpan {
    spans
        .iter()
        .find(|s| s.name() == name)
        .unwrap_or_else(|| panic!("no span {name:?} in {:?}", names(spans)))
}

fn names(spans: &[ReceivedSpan]) -> Vec<&str> {
    spans.iter().map(ReceivedSpan::name).collect()
}

/// Runs `body` against a served app with the pipeline exporting to a receiver; returns what
/// arrived. The app (and its layer) is built before the pipeline starts, as a program that
/// builds its router before calling `init()` does.
fn with_app<F, Fut>(expected_spans: usize, body: F) -> Vec<ReceivedSpan>
where
    F: FnOnce(String, reqwest::Client) -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    let _one = support::exclusive();
    let app = app();
    let receiver = Receiver::start();
    let guard = support::start(support::config(&receiver.endpoint(), &[]));
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let base = support::serve(app).await;
        body(base, reqwest::Client::new()).await;
    });
    drop(runtime);
    guard.shutdown();
    receiver.wait_for_spans(expected_spans, Duration::from_secs(5))
}

#[test]
fn a_request_is_one_trace_client_to_server_to_handler_with_route_method_and_status() {
    let spans = with_app(4, |base, client| async move {
        #[traced(root)]
        async fn checkout(base: String, client: reqwest::Client) {
            let url = format!("{base}/orders/7?token=s3cret");
            let response = client.get(url).send_traced().await.unwrap();
            assert_eq!(response.text().await.unwrap(), "order 70");
        }
        checkout(base, client).await;
    });
    let root = by_name(&spans, "checkout");
    let client = by_name(&spans, "GET");
    let server = by_name(&spans, "GET /orders/{id}");
    let handler = by_name(&spans, "load_order");

    // One trace: checkout → CLIENT → SERVER → load_order.
    for span in [client, server, handler] {
        assert_eq!(span.trace_id(), root.trace_id());
    }
    assert_eq!(client.parent_span_id(), Some(root.span_id()));
    assert_eq!(server.parent_span_id(), Some(client.span_id()));
    assert_eq!(handler.parent_span_id(), Some(server.span_id()));

    assert_eq!(server.span.kind, SERVER);
    assert_eq!(server.string_attr("http.request.method"), Some("GET"));
    assert_eq!(server.string_attr("http.route"), Some("/orders/{id}"));
    assert_eq!(server.string_attr("url.path"), Some("/orders/7"));
    assert_eq!(int(server, "http.response.status_code"), Some(200));
    assert_eq!(server.string_attr("server.address"), Some("127.0.0.1"));
    assert!(int(server, "server.port").is_some());
    assert_eq!(server.string_attr("network.protocol.version"), Some("1.1"));
    assert!(
        server.attr("url.query").is_none(),
        "the query string is not recorded"
    );
    assert_ne!(
        server.span.status.as_ref().map_or(0, |s| s.code),
        STATUS_ERROR
    );

    assert_eq!(client.span.kind, CLIENT);
    assert_eq!(client.string_attr("http.request.method"), Some("GET"));
    assert_eq!(client.string_attr("server.address"), Some("127.0.0.1"));
    assert!(int(client, "server.port").is_some_and(|p| p > 0));
    assert_eq!(int(client, "http.response.status_code"), Some(200));
    let full = client.string_attr("url.full").unwrap();
    assert!(full.ends_with("/orders/7?token=REDACTED"), "{full}");
    assert!(!full.contains("s3cret"), "{full}");
    assert_eq!(int(handler, "order.id"), Some(7));
}

#[test]
fn a_5xx_is_an_error_a_4xx_is_not_and_an_unmatched_path_has_no_route() {
    let spans = with_app(3, |base, client| async move {
        for path in ["/fail", "/bad", "/nowhere/42"] {
            client.get(format!("{base}{path}")).send().await.unwrap();
        }
    });
    let fail = by_name(&spans, "GET /fail");
    assert_eq!(int(fail, "http.response.status_code"), Some(503));
    assert_eq!(fail.string_attr("error.type"), Some("503"));
    assert_eq!(
        fail.span.status.as_ref().map(|s| s.code),
        Some(STATUS_ERROR)
    );

    let bad = by_name(&spans, "GET /bad");
    assert_eq!(int(bad, "http.response.status_code"), Some(400));
    assert_ne!(bad.span.status.as_ref().map_or(0, |s| s.code), STATUS_ERROR);
    assert!(bad.attr("error.type").is_none());

    // The fallback is wrapped too: listed by path, never with a made-up or empty route.
    let missing = by_name(&spans, "GET");
    assert_eq!(missing.span.kind, SERVER);
    assert_eq!(int(missing, "http.response.status_code"), Some(404));
    assert_eq!(missing.string_attr("url.path"), Some("/nowhere/42"));
    assert!(missing.attr("http.route").is_none());
}

#[test]
fn a_panicking_handler_ends_its_span_with_an_exception_event() {
    let spans = with_app(1, |base, client| async move {
        // axum does not catch panics: the connection just closes.
        let _ = client.get(format!("{base}/panic")).send().await;
    });
    let span = by_name(&spans, "GET /panic");
    assert_eq!(
        span.span.status.as_ref().map(|s| s.code),
        Some(STATUS_ERROR)
    );
    let event = span.event("exception").expect("exception event");
    let message = event
        .attributes
        .iter()
        .find(|kv| kv.key == "exception.message")
        .and_then(|kv| kv.value.as_ref())
        .map(|v| format!("{v:?}"))
        .unwrap_or_default();
    assert!(message.contains("handler exploded"), "{message}");
}

#[test]
fn a_streaming_body_is_inside_the_server_span() {
    let spans = with_app(1, |base, client| async move {
        let body = client.get(format!("{base}/stream")).send().await.unwrap();
        assert_eq!(body.text().await.unwrap(), "chunkchunk");
    });
    let span = by_name(&spans, "GET /stream");
    let nanos = span.span.end_time_unix_nano - span.span.start_time_unix_nano;
    assert!(
        nanos >= 290_000_000,
        "the span ended before the body was sent: {nanos} ns"
    );
}

#[test]
fn a_remote_parent_with_w3c_level_2_flags_and_baggage_is_continued() {
    // Flags 03 (sampled + random), as the OpenTelemetry Python SDK sends them.
    let trace_id = "4bf92f3577b34da6a3ce929d0e0e4736";
    let parent_id = "00f067aa0ba902b7";
    let spans = with_app(2, |base, client| async move {
        let echoed = client
            .get(format!("{base}/baggage"))
            .header("traceparent", format!("00-{trace_id}-{parent_id}-03"))
            .header("baggage", "tenant=blue")
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert_eq!(echoed, "blue", "baggage reaches the handler");

        // And on the way out: baggage of the current context goes with send_traced().
        let cx = Context::current_with_baggage([KeyValue::new("tenant", "green")]);
        // `send_traced()` starts its span, and reads the context, when it is called.
        let request = {
            let _attached = cx.attach();
            client.get(format!("{base}/baggage")).send_traced()
        };
        let echoed = request.await.unwrap().text().await.unwrap();
        assert_eq!(echoed, "green", "baggage survives the hop");
    });
    let continued = spans
        .iter()
        .find(|s| s.name() == "GET /baggage" && s.trace_id() == trace_id)
        .expect("the remote trace was continued");
    assert_eq!(continued.parent_span_id().as_deref(), Some(parent_id));
}

#[test]
fn a_transport_error_is_an_error_client_span_with_an_exception_event() {
    let spans = with_app(1, |_base, client| async move {
        let port = support::unused_port();
        let result = client
            .get(format!("http://user:pw@127.0.0.1:{port}/down"))
            .send_traced()
            .await;
        assert!(result.is_err());
    });
    let span = by_name(&spans, "GET");
    assert_eq!(span.span.kind, CLIENT);
    assert_eq!(
        span.span.status.as_ref().map(|s| s.code),
        Some(STATUS_ERROR)
    );
    assert_eq!(
        span.string_attr("error.type"),
        Some("reqwest::error::Error")
    );
    assert!(span.event("exception").is_some());
    let full = span.string_attr("url.full").unwrap();
    assert!(!full.contains("user") && !full.contains("pw"), "{full}");
}

#[test]
fn the_tower_client_layer_sends_traceparent_and_records_a_client_span() {
    use tower_layer::Layer as _;
    use tower_service::Service as _;

    let spans = with_app(3, |base, _reqwest| async move {
        let client =
            hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
                .build_http::<http_body_util::Empty<Bytes>>();
        let mut traced = ClientLayer::new().layer(client);
        std::future::poll_fn(|cx| traced.poll_ready(cx))
            .await
            .unwrap();
        let request = axum::http::Request::get(format!("{base}/orders/3"))
            .body(http_body_util::Empty::new())
            .unwrap();
        let response = traced.call(request).await.unwrap();
        assert_eq!(response.status(), 200);
    });
    let client = by_name(&spans, "GET");
    let server = by_name(&spans, "GET /orders/{id}");
    assert_eq!(client.span.kind, CLIENT);
    assert_eq!(int(client, "http.response.status_code"), Some(200));
    assert_eq!(server.trace_id(), client.trace_id());
    assert_eq!(server.parent_span_id(), Some(client.span_id()));
}

#[test]
fn otel_propagators_none_sends_no_context_and_the_default_sends_traceparent_and_baggage() {
    use mackerel_trace::opentelemetry::trace::{TraceContextExt as _, Tracer as _};

    let _one = support::exclusive();
    let receiver = Receiver::start();
    let inject_in_span = || {
        let tracer = mackerel_trace::opentelemetry::global::tracer("propagation-test");
        let cx = Context::current_with_baggage([KeyValue::new("tenant", "blue")]);
        let _attached = cx.attach();
        tracer.in_span("outgoing", |cx| {
            let mut headers = axum::http::HeaderMap::new();
            mackerel_trace::propagation::inject(&mut headers);
            (headers, cx.span().span_context().clone())
        })
    };

    let guard = support::start(support::config(
        &receiver.endpoint(),
        &[("OTEL_PROPAGATORS", "none")],
    ));
    let (headers, _) = inject_in_span();
    guard.shutdown();
    assert!(headers.is_empty(), "{headers:?}");

    let guard = support::start(support::config(&receiver.endpoint(), &[]));
    let (headers, span) = inject_in_span();
    guard.shutdown();
    assert_eq!(
        headers["traceparent"],
        format!("00-{}-{}-01", span.trace_id(), span.span_id())
    );
    assert_eq!(headers["baggage"], "tenant=blue");
    // And back: the context the headers carry is the span's, as a remote parent.
    let extracted = mackerel_trace::propagation::extract(&headers);
    assert_eq!(extracted.span().span_context().span_id(), span.span_id());
    assert!(extracted.span().span_context().is_remote());
    assert_eq!(
        extracted.baggage().get("tenant").map(ToString::to_string),
        Some("blue".to_owned())
    );
}
