//! `tower::ServerLayer`'s paths left untraced and its route function, over real sockets on
//! 127.0.0.1: an axum app and a tonic server exporting to the local OTLP receiver (`#[traced]`
//! on the fast path of `init()`), and a plain hyper service with its spans captured in memory
//! (the SDK path). An untraced request leaves no span, nor does anything its handler calls,
//! and the requests it sends say "not sampled"; every other request is traced as before.

#[allow(dead_code)] // only the server and its client are used here
#[path = "support/grpc.rs"]
mod orders;
mod support;

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use axum::extract::Path;
use axum::http::{self, HeaderMap};
use axum::routing::get;
use axum::Router;
use bytes::Bytes;
use http_body_util::Full;
use mackerel_trace::opentelemetry::trace::SpanKind;
use mackerel_trace::opentelemetry::Value;
use mackerel_trace::reqwest::RequestBuilderExt as _;
use mackerel_trace::testing::{ReceivedSpan, Receiver, SpanCapture};
use mackerel_trace::tower::ServerLayer;
use mackerel_trace::traced;
use tower_layer::Layer as _;

#[traced]
fn check_database() -> &'static str {
    "ok"
}

#[traced(record(order.id = id))]
fn load_order(id: u64) -> u64 {
    id * 10
}

/// Asserts that `spans` are an order's server span, named `server`, and its `load_order`
/// child, and nothing else; returns the server span.
fn only_the_order<'a>(spans: &'a [ReceivedSpan], server: &str) -> &'a ReceivedSpan {
    let mut names: Vec<&str> = spans.iter().map(ReceivedSpan::name).collect();
    names.sort_unstable();
    let mut expected = [server, "load_order"];
    expected.sort_unstable();
    assert_eq!(names, expected);
    let server = spans.iter().find(|s| s.name() == server).unwrap();
    let load = spans.iter().find(|s| s.name() == "load_order").unwrap();
    assert_eq!(load.parent_span_id(), Some(server.span_id()));
    server
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

/// Starts the pipeline exporting to a receiver, runs `body` (bounded to 30 s) on a tokio
/// runtime, shuts the pipeline down (so every span ended has been sent) and returns the spans.
fn exported<F, Fut>(expected_spans: usize, body: F) -> Vec<ReceivedSpan>
where
    F: FnOnce() -> Fut,
    Fut: Future<Output = ()>,
{
    let _one = support::exclusive();
    let receiver = Receiver::start();
    let guard = support::start(support::config(&receiver.endpoint(), &[]));
    let runtime = runtime();
    runtime.block_on(async {
        tokio::time::timeout(Duration::from_secs(30), body())
            .await
            .expect("the requests finish within 30 s");
    });
    drop(runtime);
    guard.shutdown();
    receiver.wait_for_spans(expected_spans, Duration::from_secs(5))
}

// ---- axum ----

/// A health check that checks a database and calls another service (this one), returning the
/// `traceparent` that service was sent.
async fn healthz(headers: HeaderMap) -> String {
    assert_eq!(check_database(), "ok");
    let host = headers[http::header::HOST].to_str().unwrap();
    reqwest::Client::new()
        .get(format!("http://{host}/traceparent"))
        .send_traced()
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
}

async fn traceparent(headers: HeaderMap) -> String {
    headers
        .get("traceparent")
        .map(|value| value.to_str().unwrap().to_owned())
        .unwrap_or_default()
}

fn axum_app() -> Router {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/health/{probe}", get(|| async { check_database() }))
        .route("/traceparent", get(traceparent))
        .route(
            "/orders/{id}",
            get(|Path(id): Path<u64>| async move { format!("order {}", load_order(id)) }),
        )
        .layer(
            ServerLayer::new()
                .untraced(["/healthz"])
                .untraced(["/health/*"]),
        )
}

#[test]
fn an_untraced_path_has_no_span_and_nothing_its_handler_calls_starts_a_trace() {
    let spans = exported(2, || async {
        let base = support::serve(axum_app()).await;
        let sent = support::get_text(&format!("{base}/healthz")).await;
        // What the health check sent on: a valid parent, not sampled.
        let parts: Vec<&str> = sent.split('-').collect();
        assert_eq!(parts.len(), 4, "a traceparent was sent: {sent:?}");
        assert_eq!((parts[0], parts[3]), ("00", "00"), "{sent}");
        assert_eq!((parts[1].len(), parts[2].len()), (32, 16), "{sent}");
        assert_ne!(parts[1], "0".repeat(32));

        // The query string is not part of the path.
        let sent = support::get_text(&format!("{base}/healthz?verbose=1")).await;
        assert!(sent.ends_with("-00"), "{sent}");
        assert_eq!(
            support::get_text(&format!("{base}/health/live")).await,
            "ok"
        );
        assert_eq!(
            support::get_text(&format!("{base}/orders/7")).await,
            "order 70"
        );
    });
    // Not the probes, their `#[traced]` call, the client call nor the server span of the
    // service it called: only the order.
    let server = only_the_order(&spans, "GET /orders/{id}");
    assert_eq!(server.string_attr("http.route"), Some("/orders/{id}"));
}

// ---- hyper ----

#[traced(record(user.id = id))]
fn load_user(id: &str) -> String {
    format!("user {id}")
}

async fn hyper_handler(
    request: http::Request<hyper::body::Incoming>,
) -> Result<http::Response<Full<Bytes>>, Infallible> {
    let path = request.uri().path();
    let (status, body) = if let Some(id) = path.strip_prefix("/users/") {
        (200, load_user(id))
    } else if path == "/healthz" {
        (200, check_database().to_owned())
    } else {
        (404, String::new())
    };
    let mut response = http::Response::new(Full::new(Bytes::from(body)));
    *response.status_mut() = http::StatusCode::from_u16(status).unwrap();
    Ok(response)
}

/// Serves `hyper_handler` behind the layer with hyper alone, on the current tokio runtime;
/// returns the base URL.
async fn serve_hyper(layer: ServerLayer) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let service = layer.layer(tower::service_fn(hyper_handler));
    tokio::spawn(async move {
        loop {
            let (stream, _) = listener.accept().await.unwrap();
            let service = hyper_util::service::TowerToHyperService::new(service.clone());
            tokio::spawn(
                hyper::server::conn::http1::Builder::new()
                    .serve_connection(hyper_util::rt::TokioIo::new(stream), service),
            );
        }
    });
    format!("http://{address}")
}

fn string(span: &mackerel_trace::opentelemetry_sdk::trace::SpanData, key: &str) -> Option<String> {
    span.attributes
        .iter()
        .find(|kv| kv.key.as_str() == key)
        .map(|kv| match &kv.value {
            Value::String(s) => s.as_str().to_owned(),
            other => panic!("{key} is not a string: {other:?}"),
        })
}

#[test]
fn a_route_function_names_the_routes_of_a_plain_hyper_service() {
    let _one = support::exclusive();
    let capture = SpanCapture::install();
    let layer = ServerLayer::new()
        .untraced(["/healthz"])
        .route_with(|request| {
            let path = request.uri.path();
            match path.strip_prefix("/users/") {
                Some(id) if !id.is_empty() && !id.contains('/') => Some("/users/{id}"),
                _ => None,
            }
        });
    let runtime = runtime();
    runtime.block_on(async {
        let base = serve_hyper(layer).await;
        assert_eq!(
            support::get_text(&format!("{base}/users/42")).await,
            "user 42"
        );
        assert_eq!(support::get_text(&format!("{base}/healthz")).await, "ok");
        let missing = reqwest::get(format!("{base}/nowhere")).await.unwrap();
        assert_eq!(missing.status(), 404);
        missing.bytes().await.unwrap();
    });
    drop(runtime);

    let spans = capture.spans();
    let mut names: Vec<&str> = spans.iter().map(|s| s.name.as_ref()).collect();
    names.sort_unstable();
    assert_eq!(names, ["GET", "GET /users/{id}", "load_user"]);

    let user = spans.iter().find(|s| s.name == "GET /users/{id}").unwrap();
    assert_eq!(user.span_kind, SpanKind::Server);
    assert_eq!(string(user, "http.route").as_deref(), Some("/users/{id}"));
    assert_eq!(string(user, "url.path").as_deref(), Some("/users/42"));
    let load = spans.iter().find(|s| s.name == "load_user").unwrap();
    assert_eq!(load.parent_span_id, user.span_context.span_id());

    // The function named no route: listed by its path, with no `http.route`.
    let missing = spans.iter().find(|s| s.name == "GET").unwrap();
    assert_eq!(string(missing, "url.path").as_deref(), Some("/nowhere"));
    assert_eq!(string(missing, "http.route"), None);
}

// ---- gRPC ----

/// `grpc.health.v1.Health/Check`, as tonic's code generator writes it (`tonic-health`'s
/// service, hand-written like `shop.Orders`): SERVING once the database answers.
mod health {
    use std::convert::Infallible;
    use std::task::{Context as TaskContext, Poll};

    use tonic::body::Body;
    use tonic::codegen::http;
    use tonic::codegen::http::uri::PathAndQuery;
    use tonic::{Request, Response, Status};
    use tonic_prost::ProstCodec;

    use super::{check_database, BoxFuture};

    pub const CHECK: &str = "/grpc.health.v1.Health/Check";

    #[derive(Clone, PartialEq, prost::Message)]
    pub struct HealthCheckRequest {
        #[prost(string, tag = "1")]
        pub service: String,
    }

    #[derive(Clone, PartialEq, prost::Message)]
    pub struct HealthCheckResponse {
        /// 1: SERVING.
        #[prost(int32, tag = "1")]
        pub status: i32,
    }

    async fn check(
        _: Request<HealthCheckRequest>,
    ) -> Result<Response<HealthCheckResponse>, Status> {
        check_database();
        Ok(Response::new(HealthCheckResponse { status: 1 }))
    }

    #[derive(Clone, Copy, Debug, Default)]
    pub struct HealthServer;

    impl tonic::server::NamedService for HealthServer {
        const NAME: &'static str = "grpc.health.v1.Health";
    }

    impl tower_service::Service<http::Request<Body>> for HealthServer {
        type Response = http::Response<Body>;
        type Error = Infallible;
        type Future = BoxFuture<Self::Response>;

        fn poll_ready(&mut self, _: &mut TaskContext<'_>) -> Poll<Result<(), Infallible>> {
            Poll::Ready(Ok(()))
        }

        fn call(&mut self, request: http::Request<Body>) -> Self::Future {
            Box::pin(async move {
                if request.uri().path() != CHECK {
                    return Ok(Status::unimplemented("").into_http());
                }
                let mut grpc = tonic::server::Grpc::new(ProstCodec::<
                    HealthCheckResponse,
                    HealthCheckRequest,
                >::default());
                Ok(grpc.unary(tower::service_fn(check), request).await)
            })
        }
    }

    /// Asks the health service at `channel`; the status it answers.
    pub async fn ask(channel: tonic::transport::Channel) -> i32 {
        let mut grpc = tonic::client::Grpc::new(channel);
        grpc.ready().await.unwrap();
        let codec = ProstCodec::<HealthCheckRequest, HealthCheckResponse>::default();
        let request = Request::new(HealthCheckRequest::default());
        grpc.unary(request, PathAndQuery::from_static(CHECK), codec)
            .await
            .unwrap()
            .into_inner()
            .status
    }
}

type BoxFuture<T> = Pin<Box<dyn Future<Output = Result<T, Infallible>> + Send>>;

/// Serves `shop.Orders` and the health service behind `layer` on 127.0.0.1; returns the base
/// URL.
async fn serve_grpc(layer: ServerLayer) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let incoming = tonic::transport::server::TcpIncoming::from(listener);
    tokio::spawn(
        tonic::transport::Server::builder()
            .layer(layer)
            .add_service(orders::OrdersServer)
            .add_service(health::HealthServer)
            .serve_with_incoming(incoming),
    );
    format!("http://{address}")
}

#[test]
fn grpc_health_checks_and_an_untraced_streaming_method_have_no_span() {
    let spans = exported(2, || async {
        let layer = ServerLayer::new().untraced(["/grpc.health.v1.Health/*", "/shop.Orders/Watch"]);
        let base = serve_grpc(layer).await;
        let channel = tonic::transport::Endpoint::from_shared(base)
            .unwrap()
            .connect()
            .await
            .unwrap();
        assert_eq!(health::ask(channel.clone()).await, 1);

        // Its orders are loaded as the response stream is polled: unsampled there too.
        let mut client = orders::OrdersClient::new(channel);
        let request = orders::OrderRequest {
            id: 100,
            count: 2,
            then: String::new(),
        };
        let mut stream = client.watch(request).await.unwrap().into_inner();
        let mut ids = Vec::new();
        while let Some(order) = stream.message().await.unwrap() {
            ids.push(order.id);
        }
        assert_eq!(ids, [100, 101]);

        let request = orders::OrderRequest {
            id: 7,
            ..orders::OrderRequest::default()
        };
        assert_eq!(
            client.get(request).await.unwrap().into_inner().item,
            "item 7"
        );
    });
    only_the_order(&spans, "shop.Orders/Get");
}
