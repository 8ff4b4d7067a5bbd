//! actix-web 4 under `mackerel_trace::actix::Middleware`, over real sockets: an `HttpServer`
//! on 127.0.0.1 (one worker, its own actix system and thread) called with reqwest, its spans
//! captured in memory as they end. What Mackerel's HTTP view reads is checked on the spans:
//! kind, name, method, route (the resource that handled the request, with overlapping
//! patterns), status code as an int, error status, parent links, the span current inside the
//! handler, the body's end, panics, and the W3C context in.

mod support;

use std::pin::Pin;
use std::rc::Rc;
use std::sync::Mutex;
use std::task::{Context as TaskContext, Poll};
use std::time::{Duration, SystemTime};

use actix_web::body::{BodySize, MessageBody};
use actix_web::dev::{Service as _, ServiceFactory, ServiceRequest, ServiceResponse};
use actix_web::web::{self, Bytes};
use actix_web::{get, post, App, HttpResponse, HttpServer};
use mackerel_trace::opentelemetry::baggage::BaggageExt as _;
use mackerel_trace::opentelemetry::trace::{SpanKind, Status, TraceContextExt as _};
use mackerel_trace::opentelemetry::{Context, Value};
use mackerel_trace::opentelemetry_sdk::trace::SpanData;
use mackerel_trace::reqwest::RequestBuilderExt as _;
use mackerel_trace::testing::SpanCapture;
use mackerel_trace::traced;
use tokio::sync::mpsc;

// ---- the app ----

#[traced]
fn authorize() {}

#[traced(record(order.id = id))]
fn load_order(id: u64) -> u64 {
    id * 10
}

#[traced]
async fn price(id: u64) -> u64 {
    actix_web::rt::time::sleep(Duration::from_millis(1)).await;
    id + 1
}

/// Holds an `Rc` across an await, as actix (single-threaded workers) allows; answers with the
/// id of the span current after that await.
async fn order(id: web::Path<u64>) -> String {
    let id = Rc::new(id.into_inner());
    let price = price(*id).await;
    let current = Context::current().span().span_context().span_id();
    format!("order {} at {price}, span {current}", load_order(*id))
}

// Overlapping patterns, told apart by method guards as `#[get]`/`#[post]` write them. Here the
// parameter pattern comes first: the router passes it over for a GET.
#[post("/items/{key}")]
async fn update_item() -> &'static str {
    "updated"
}

#[get("/items/recommend")]
async fn recommend_items() -> &'static str {
    "recommended"
}

// And the other way round: the literal pattern comes first, and a POST passes it over.
#[get("/things/recommend")]
async fn recommend_things() -> &'static str {
    "recommended"
}

#[post("/things/{key}")]
async fn update_thing() -> &'static str {
    "updated"
}

// Inside a scope: a DELETE is taken by no resource, only by the scope's default service.
#[get("/items/{key}")]
async fn api_item() -> &'static str {
    "item"
}

async fn baggage() -> String {
    Context::current()
        .baggage()
        .get("tenant")
        .map(|v| v.to_string())
        .unwrap_or_default()
}

async fn panics() -> &'static str {
    panic!("handler exploded")
}

/// The receiving end of the streaming body, handed to the next `/stream` request.
type Gate = Mutex<Option<mpsc::UnboundedReceiver<Bytes>>>;

/// A body whose chunks the test sends, ending when the test drops its sender.
struct GatedBody(mpsc::UnboundedReceiver<Bytes>);

impl MessageBody for GatedBody {
    type Error = std::convert::Infallible;

    fn size(&self) -> BodySize {
        BodySize::Stream
    }

    fn poll_next(
        mut self: Pin<&mut Self>,
        task: &mut TaskContext<'_>,
    ) -> Poll<Option<Result<Bytes, Self::Error>>> {
        self.0.poll_recv(task).map(|chunk| chunk.map(Ok))
    }
}

async fn stream(gate: web::Data<Gate>) -> HttpResponse {
    let receiver = gate.lock().unwrap().take().expect("a gate for /stream");
    HttpResponse::Ok().body(GatedBody(receiver))
}

fn app(
    gate: web::Data<Gate>,
) -> App<
    impl ServiceFactory<
        ServiceRequest,
        Config = (),
        Response = ServiceResponse<impl MessageBody>,
        Error = actix_web::Error,
        InitError = (),
    >,
> {
    App::new()
        .app_data(gate)
        .route("/orders/{id}", web::get().to(order))
        .service(update_item)
        .service(recommend_items)
        .service(recommend_things)
        .service(update_thing)
        .service(web::scope("/api").service(api_item))
        .route(
            "/fail",
            web::get().to(|| async { HttpResponse::ServiceUnavailable().finish() }),
        )
        .route(
            "/bad",
            web::get().to(|| async { HttpResponse::BadRequest().finish() }),
        )
        .route("/baggage", web::get().to(baggage))
        .route("/panic", web::get().to(panics))
        .route("/stream", web::get().to(stream))
        .service(
            // A middleware that fails instead of answering: actix sends the error's response.
            web::scope("/maintenance")
                .wrap_fn(|_request, _service| async {
                    Err::<ServiceResponse, _>(actix_web::error::ErrorServiceUnavailable(
                        "down for maintenance",
                    ))
                })
                .route("/orders", web::get().to(|| async { "never" })),
        )
        // A middleware inside ours: the span is current there too.
        .wrap_fn(|request, service| {
            authorize();
            service.call(request)
        })
        .wrap(mackerel_trace::actix::Middleware::new())
}

// ---- the harness ----

/// Serves `app` on 127.0.0.1 with the spans going to a new capture, runs `body` against it
/// with a reqwest client, stops the server (so every span has ended) and returns the spans.
fn with_server<F, Fut>(body: F) -> Vec<SpanData>
where
    F: FnOnce(String, reqwest::Client, Served) -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    let _one = support::exclusive();
    let capture = SpanCapture::install();
    let gate = web::Data::new(Gate::default());
    let (started, receive) = std::sync::mpsc::channel();
    let server_gate = gate.clone();
    let thread = std::thread::spawn(move || {
        actix_web::rt::System::new().block_on(async move {
            let server = HttpServer::new(move || app(server_gate.clone()))
                .workers(1)
                .disable_signals()
                .shutdown_timeout(1)
                .bind(("127.0.0.1", 0))
                .expect("bind 127.0.0.1");
            let address = server.addrs()[0];
            let server = server.run();
            started.send((address, server.handle())).unwrap();
            server.await.expect("server");
        });
    });
    let (address, handle) = receive
        .recv_timeout(Duration::from_secs(10))
        .expect("the server started");
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap();
    let served = Served {
        capture: capture.clone(),
        gate,
    };
    runtime.block_on(body(format!("http://{address}"), client, served));
    runtime
        .block_on(async { tokio::time::timeout(Duration::from_secs(10), handle.stop(true)).await })
        .expect("the server stopped");
    thread.join().expect("the server thread");
    capture.spans()
}

/// What a test body can reach of the server's side.
struct Served {
    capture: SpanCapture,
    gate: web::Data<Gate>,
}

impl Served {
    /// Server spans named `name` ended so far.
    fn ended(&self, name: &str) -> usize {
        self.capture
            .spans_named(name)
            .iter()
            .filter(|s| s.span_kind == SpanKind::Server)
            .count()
    }

    /// Waits (at most 5 s) until a server span named `name` has ended.
    async fn wait_until_ended(&self, name: &str) {
        for _ in 0..500 {
            if self.ended(name) > 0 {
                return;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        panic!("no span {name:?} ended within 5 s");
    }
}

fn server<'a>(spans: &'a [SpanData], name: &str) -> &'a SpanData {
    let found: Vec<&SpanData> = spans
        .iter()
        .filter(|s| s.name == name && s.span_kind == SpanKind::Server)
        .collect();
    assert_eq!(
        found.len(),
        1,
        "one server span {name:?} in {:?}",
        names(spans)
    );
    found[0]
}

fn by_name<'a>(spans: &'a [SpanData], name: &str) -> &'a SpanData {
    spans
        .iter()
        .find(|s| s.name == name)
        .unwrap_or_else(|| panic!("no span {name:?} in {:?}", names(spans)))
}

fn names(spans: &[SpanData]) -> Vec<String> {
    spans
        .iter()
        .map(|s| format!("{} ({:?})", s.name, s.span_kind))
        .collect()
}

fn attr<'a>(span: &'a SpanData, key: &str) -> Option<&'a Value> {
    span.attributes
        .iter()
        .find(|kv| kv.key.as_str() == key)
        .map(|kv| &kv.value)
}

fn string(span: &SpanData, key: &str) -> Option<String> {
    attr(span, key).map(|value| match value {
        Value::String(s) => s.as_str().to_owned(),
        other => panic!("{key} is not a string: {other:?}"),
    })
}

fn int(span: &SpanData, key: &str) -> Option<i64> {
    attr(span, key).map(|value| match value {
        Value::I64(i) => *i,
        other => panic!("{key} is not an int: {other:?}"),
    })
}

fn is_error(span: &SpanData) -> bool {
    matches!(span.status, Status::Error { .. })
}

// ---- the behaviour ----

#[test]
fn a_request_is_a_server_span_current_in_middleware_and_handler_with_route_and_status() {
    let body = std::rc::Rc::new(std::cell::RefCell::new(String::new()));
    let received = body.clone();
    let spans = with_server(|base, client, _served| async move {
        #[traced(root)]
        async fn checkout(url: String, client: reqwest::Client) -> String {
            let response = client.get(url).send_traced().await.unwrap();
            response.text().await.unwrap()
        }
        let url = format!("{base}/orders/7?token=s3cret");
        *received.borrow_mut() = checkout(url, client).await;
    });
    let root = by_name(&spans, "checkout");
    let client = spans
        .iter()
        .find(|s| s.span_kind == SpanKind::Client)
        .expect("a client span");
    let server = server(&spans, "GET /orders/{id}");

    // One trace: checkout → CLIENT → SERVER → the middleware's and the handler's spans.
    assert_eq!(server.span_context.trace_id(), root.span_context.trace_id());
    assert_eq!(server.parent_span_id, client.span_context.span_id());
    assert!(server.parent_span_is_remote);
    for child in ["authorize", "price", "load_order"] {
        let child = by_name(&spans, child);
        assert_eq!(child.span_context.trace_id(), root.span_context.trace_id());
        assert_eq!(
            child.parent_span_id,
            server.span_context.span_id(),
            "{} is a child of the server span",
            child.name
        );
    }
    assert_eq!(int(by_name(&spans, "load_order"), "order.id"), Some(7));
    // `Context::current()` in the handler, after an await, is the server span.
    let current = format!("span {}", server.span_context.span_id());
    assert_eq!(*body.borrow(), format!("order 70 at 8, {current}"));

    assert_eq!(server.span_kind, SpanKind::Server);
    assert_eq!(
        string(server, "http.request.method").as_deref(),
        Some("GET")
    );
    assert_eq!(
        string(server, "http.route").as_deref(),
        Some("/orders/{id}")
    );
    assert_eq!(string(server, "url.path").as_deref(), Some("/orders/7"));
    assert_eq!(string(server, "url.scheme").as_deref(), Some("http"));
    assert_eq!(int(server, "http.response.status_code"), Some(200));
    assert_eq!(
        string(server, "server.address").as_deref(),
        Some("127.0.0.1")
    );
    assert!(int(server, "server.port").is_some_and(|port| port > 0));
    assert_eq!(
        string(server, "network.protocol.version").as_deref(),
        Some("1.1")
    );
    assert!(
        attr(server, "url.query").is_none(),
        "the query is not recorded"
    );
    assert!(!spans.iter().any(|s| s
        .attributes
        .iter()
        .any(|kv| format!("{:?}", kv.value).contains("s3cret"))));
    assert_eq!(server.status, Status::Unset);
}

#[test]
fn the_route_is_the_resource_that_handled_the_request_with_overlapping_patterns() {
    let spans = with_server(|base, client, _served| async move {
        let send = |request: reqwest::RequestBuilder| async move {
            request.send().await.unwrap().text().await.unwrap()
        };
        // `/items/{key}` (POST) is registered before `/items/recommend` (GET).
        assert_eq!(
            send(client.get(format!("{base}/items/recommend"))).await,
            "recommended"
        );
        // `/things/recommend` (GET) is registered before `/things/{key}` (POST).
        assert_eq!(
            send(client.post(format!("{base}/things/recommend"))).await,
            "updated"
        );
    });
    let get = server(&spans, "GET /items/recommend");
    assert_eq!(
        string(get, "http.route").as_deref(),
        Some("/items/recommend")
    );
    assert_eq!(string(get, "url.path").as_deref(), Some("/items/recommend"));
    let post = server(&spans, "POST /things/{key}");
    assert_eq!(string(post, "http.route").as_deref(), Some("/things/{key}"));
    assert_eq!(
        string(post, "url.path").as_deref(),
        Some("/things/recommend")
    );
    let servers = spans.iter().filter(|s| s.span_kind == SpanKind::Server);
    assert_eq!(servers.count(), 2, "{:?}", names(&spans));
}

#[test]
fn a_request_no_resource_took_has_no_route_even_where_a_pattern_fits_its_path() {
    let spans = with_server(|base, client, _served| async move {
        for request in [
            client.get(format!("{base}/nowhere/42")),
            // Fits `/things/{key}`, which takes only POST: the app's default service answers.
            client.get(format!("{base}/things/7")),
            // Fits `/api/items/{key}`, which takes only GET: the scope's default answers.
            client.delete(format!("{base}/api/items/7")),
        ] {
            let response = request.send().await.unwrap();
            assert_eq!(response.status(), 404);
        }
    });
    let mut paths = Vec::new();
    for span in spans.iter().filter(|s| s.span_kind == SpanKind::Server) {
        assert!(span.name == "GET" || span.name == "DELETE", "{}", span.name);
        assert!(attr(span, "http.route").is_none(), "{:?}", span.attributes);
        assert_eq!(int(span, "http.response.status_code"), Some(404));
        assert!(!is_error(span), "a 404 is the client's error");
        paths.push(string(span, "url.path").unwrap());
    }
    paths.sort();
    assert_eq!(paths, ["/api/items/7", "/nowhere/42", "/things/7"]);
}

#[test]
fn a_5xx_is_an_error_a_4xx_is_not_and_a_failing_middleware_gives_its_status() {
    let spans = with_server(|base, client, _served| async move {
        for (path, status) in [("/fail", 503), ("/bad", 400), ("/maintenance/orders", 503)] {
            let response = client.get(format!("{base}{path}")).send().await.unwrap();
            assert_eq!(response.status(), status, "{path}");
        }
    });
    let fail = server(&spans, "GET /fail");
    assert_eq!(int(fail, "http.response.status_code"), Some(503));
    assert_eq!(string(fail, "error.type").as_deref(), Some("503"));
    assert!(is_error(fail));

    let bad = server(&spans, "GET /bad");
    assert_eq!(int(bad, "http.response.status_code"), Some(400));
    assert!(attr(bad, "error.type").is_none());
    assert_eq!(bad.status, Status::Unset);

    // The middleware's `Err` carries no request, so the route is not known.
    let maintenance = spans
        .iter()
        .find(|s| string(s, "url.path").as_deref() == Some("/maintenance/orders"))
        .expect("the failing middleware's request");
    assert_eq!(int(maintenance, "http.response.status_code"), Some(503));
    assert_eq!(string(maintenance, "error.type").as_deref(), Some("503"));
    assert!(is_error(maintenance));
}

#[test]
fn a_panicking_handler_ends_its_span_with_an_exception_event_and_the_server_goes_on() {
    let spans = with_server(|base, client, _served| async move {
        // actix-web does not catch the panic: the connection closes without a response.
        assert!(client.get(format!("{base}/panic")).send().await.is_err());
        let after = client.get(format!("{base}/baggage")).send().await.unwrap();
        assert_eq!(after.status(), 200);
    });
    // The request, which knows the route, unwinds with the handler: the span is listed by
    // its path.
    let span = spans
        .iter()
        .find(|s| string(s, "url.path").as_deref() == Some("/panic"))
        .expect("the panicking request's span");
    assert_eq!(span.span_kind, SpanKind::Server);
    assert_eq!(string(span, "http.request.method").as_deref(), Some("GET"));
    match &span.status {
        Status::Error { description } => assert_eq!(description, "handler exploded"),
        other => panic!("status {other:?}"),
    }
    let event = span
        .events
        .iter()
        .find(|e| e.name == "exception")
        .expect("an exception event");
    let value = |key: &str| {
        event
            .attributes
            .iter()
            .find(|kv| kv.key.as_str() == key)
            .map(|kv| kv.value.to_string())
    };
    assert_eq!(value("exception.type").as_deref(), Some("panic"));
    assert_eq!(
        value("exception.message").as_deref(),
        Some("handler exploded")
    );
    server(&spans, "GET /baggage");
}

#[test]
fn a_streaming_body_is_inside_the_server_span() {
    let released = std::rc::Rc::new(std::cell::Cell::new(SystemTime::UNIX_EPOCH));
    let released_at = released.clone();
    let spans = with_server(|base, client, served| async move {
        let (chunks, receiver) = mpsc::unbounded_channel();
        *served.gate.lock().unwrap() = Some(receiver);
        chunks.send(Bytes::from_static(b"first ")).unwrap();
        let mut response = client.get(format!("{base}/stream")).send().await.unwrap();
        assert_eq!(response.status(), 200);
        assert_eq!(response.chunk().await.unwrap().unwrap(), "first ");

        // The head and a chunk are out, the body is not done: the span goes on.
        assert_eq!(served.ended("GET /stream"), 0);

        released_at.set(SystemTime::now());
        chunks.send(Bytes::from_static(b"last")).unwrap();
        drop(chunks);
        let mut rest = Vec::new();
        while let Some(chunk) = response.chunk().await.unwrap() {
            rest.extend_from_slice(&chunk);
        }
        assert_eq!(rest, b"last");
        served.wait_until_ended("GET /stream").await;
    });
    let span = server(&spans, "GET /stream");
    assert!(
        span.end_time >= released.get(),
        "the span ended before the body did"
    );
    assert_eq!(int(span, "http.response.status_code"), Some(200));
}

#[test]
fn a_body_dropped_unfinished_ends_the_span() {
    let spans = with_server(|base, client, served| async move {
        let (chunks, receiver) = mpsc::unbounded_channel();
        *served.gate.lock().unwrap() = Some(receiver);
        chunks.send(Bytes::from_static(b"first ")).unwrap();
        let mut response = client.get(format!("{base}/stream")).send().await.unwrap();
        assert_eq!(response.chunk().await.unwrap().unwrap(), "first ");
        drop(response); // the client goes away mid-body

        // Writing to the closed connection fails, and actix drops the body. The sender stays
        // open throughout, so the body never ends by itself.
        for _ in 0..500 {
            if served.ended("GET /stream") > 0 {
                break;
            }
            let _ = chunks.send(Bytes::from_static(b"more "));
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        assert_eq!(served.ended("GET /stream"), 1, "the span ended");
        // The test never closed the sender, so the body did not end by itself: actix dropped it.
        assert!(chunks.is_closed(), "actix dropped the body");
    });
    let span = server(&spans, "GET /stream");
    assert_eq!(int(span, "http.response.status_code"), Some(200));
}

#[test]
fn a_remote_parent_with_w3c_level_2_flags_and_baggage_is_continued() {
    // Flags 03 (sampled + random), as the OpenTelemetry Python SDK sends them.
    let trace_id = "4bf92f3577b34da6a3ce929d0e0e4736";
    let parent_id = "00f067aa0ba902b7";
    let spans = with_server(|base, client, _served| async move {
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
    });
    let span = server(&spans, "GET /baggage");
    assert_eq!(span.span_context.trace_id().to_string(), trace_id);
    assert_eq!(span.parent_span_id.to_string(), parent_id);
    assert!(span.parent_span_is_remote);
    assert!(span.span_context.is_sampled());
}
