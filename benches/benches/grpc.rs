//! Per-call cost of tracing a tonic 0.14 unary call with mackerel-trace's `tower::ServerLayer`
//! and `tower::ClientLayer`, against the same work written by hand with the plain OpenTelemetry
//! API, every instrumented variant reporting into `discarding_provider()`:
//!
//! - `bare`: a tonic unary call with no layer. The client (`tonic::client::Grpc`, as generated
//!   clients use it) is given the server's service (`shop.Orders`, written out as `tonic-build`
//!   generates it, on `tonic::server::Grpc` and `tonic_prost::ProstCodec`) as its transport: the
//!   client encodes the request, the server decodes it, answers, encodes the answer and its
//!   trailers, and the client decodes the answer and reads the trailers — all of a call but
//!   HTTP/2 and the sockets, which would only add the same noise to every variant.
//! - `server`: `ServerLayer` around the server's service, `set_tracer_provider` installed.
//! - `hand_written_server`: a tower layer doing what `ServerLayer` does for a gRPC call (parent
//!   from the global `TraceContextPropagator`, the same SERVER span, name and attributes — the
//!   HTTP ones and the RPC ones — current while the handler's future is created and polled and
//!   while the response body is polled, `http.response.status_code` and a trailers-only status
//!   from the head, `rpc.response.status_code` from the trailers, ended with the body).
//! - `client_and_server`: `ClientLayer` and `ServerLayer` (the client span injects its
//!   `traceparent`; the server span continues it).
//! - `hand_written_client_and_server`: the hand-written server layer, and a hand-written client
//!   layer doing what `ClientLayer` does for a gRPC call (a CLIENT span child of the current
//!   context, `rpc.system.name`/`rpc.method`, `traceparent` injected, span current while the
//!   call's future is polled, the status from the head or the trailers, ended with the body).
//!
//! The hand-written layers trace only gRPC; mackerel-trace's also check each request's
//! `content-type` to choose between HTTP and gRPC, and that check is part of what is measured.
//!
//! Each iteration is one call (`OrderRequest { id: 42 }` with a `traceparent` in its metadata,
//! built outside the timed region) in one `block_on` on a current-thread runtime built once
//! per benchmark. Before measuring, [`check_spans`] runs every instrumented variant into a
//! capturing exporter and asserts that it exports the spans `ServerLayer` and `ClientLayer`
//! export — same names, kinds, parents and attributes — so no variant measures less work.
//!
//! `cargo bench -p mackerel-trace-benches --bench grpc`; for instructions, run the built bench
//! under `valgrind --tool=callgrind --toggle-collect='*run_call*'` with
//! `--bench <variant> --sample-count N --sample-size 100` for two values of N.

use std::collections::BTreeMap;
use std::convert::Infallible;
use std::future::Future;
use std::hint::black_box;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context as TaskContext, Poll};

use divan::Bencher;
use mackerel_trace::opentelemetry::trace::{SpanKind, TracerProvider as _};
use mackerel_trace::opentelemetry::{global, Value};
use mackerel_trace::opentelemetry_sdk::error::OTelSdkResult;
use mackerel_trace::opentelemetry_sdk::propagation::TraceContextPropagator;
use mackerel_trace::opentelemetry_sdk::trace::{
    SdkTracer, SdkTracerProvider, SpanData, SpanExporter,
};
use mackerel_trace::tower::{ClientLayer, ServerLayer};
use mackerel_trace_benches::discarding_provider;
use tonic::body::Body;
use tonic::client::{Grpc, GrpcService};
use tonic::codegen::http::uri::PathAndQuery;
use tonic::{Request, Response, Status};
use tonic_prost::ProstCodec;
use tower::{Layer as _, ServiceBuilder};

const TRACEPARENT: &str = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
const TRACE_ID: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
const PARENT_SPAN_ID: &str = "00f067aa0ba902b7";
const METHOD: &str = "shop.Orders/Get";
const PATH: &str = "/shop.Orders/Get";

fn main() {
    // As after `mackerel_trace::init()` (its propagators installed, tracing off until a
    // variant installs a provider), then the global W3C propagator the hand-written layers use.
    off();
    global::set_text_map_propagator(TraceContextPropagator::new());
    check_spans();
    divan::main();
}

// ---- the service: shop.Orders/Get, as tonic-build writes it ----

#[derive(Clone, PartialEq, prost::Message)]
struct OrderRequest {
    #[prost(uint64, tag = "1")]
    id: u64,
}

#[derive(Clone, PartialEq, prost::Message)]
struct Order {
    #[prost(uint64, tag = "1")]
    id: u64,
    #[prost(string, tag = "2")]
    item: String,
}

async fn get(request: Request<OrderRequest>) -> Result<Response<Order>, Status> {
    let id = request.into_inner().id;
    Ok(Response::new(Order {
        id,
        item: "order 42".to_owned(),
    }))
}

type BoxFuture<T> = Pin<Box<dyn Future<Output = Result<T, Infallible>> + Send>>;

#[derive(Clone, Copy, Debug, Default)]
struct OrdersServer;

impl tower::Service<http::Request<Body>> for OrdersServer {
    type Response = http::Response<Body>;
    type Error = Infallible;
    type Future = BoxFuture<Self::Response>;

    fn poll_ready(&mut self, _: &mut TaskContext<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: http::Request<Body>) -> Self::Future {
        match request.uri().path() {
            PATH => Box::pin(async move {
                let mut grpc =
                    tonic::server::Grpc::new(ProstCodec::<Order, OrderRequest>::default());
                Ok(grpc.unary(tower::service_fn(get), request).await)
            }),
            _ => Box::pin(async { Ok(Status::unimplemented("").into_http()) }),
        }
    }
}

// ---- the variants ----

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Variant {
    Bare,
    Server,
    HandWrittenServer,
    ClientAndServer,
    HandWrittenClientAndServer,
}

impl Variant {
    const INSTRUMENTED: [Variant; 4] = [
        Variant::Server,
        Variant::HandWrittenServer,
        Variant::ClientAndServer,
        Variant::HandWrittenClientAndServer,
    ];

    fn has_client_span(self) -> bool {
        matches!(
            self,
            Variant::ClientAndServer | Variant::HandWrittenClientAndServer
        )
    }
}

/// Runs `f` with `variant`'s transport (the server's service, with the variant's layers)
/// reporting into `provider`, then uninstalls.
fn with_transport<R>(variant: Variant, provider: SdkTracerProvider, f: impl Run<R>) -> R {
    let tracer = || -> &'static SdkTracer { Box::leak(Box::new(provider.tracer("bench"))) };
    let result = match variant {
        Variant::Bare => f.run(OrdersServer),
        Variant::Server => {
            mackerel_trace::set_tracer_provider(provider.clone());
            f.run(ServerLayer::new().layer(OrdersServer))
        }
        Variant::HandWrittenServer => {
            f.run(hand::ServerLayer { tracer: tracer() }.layer(OrdersServer))
        }
        Variant::ClientAndServer => {
            mackerel_trace::set_tracer_provider(provider.clone());
            f.run(
                ServiceBuilder::new()
                    .layer(ClientLayer::new())
                    .layer(ServerLayer::new())
                    .service(OrdersServer),
            )
        }
        Variant::HandWrittenClientAndServer => {
            let tracer = tracer();
            f.run(
                ServiceBuilder::new()
                    .layer(hand::ClientLayer { tracer })
                    .layer(hand::ServerLayer { tracer })
                    .service(OrdersServer),
            )
        }
    };
    let _ = provider.shutdown();
    off();
    result
}

/// What is done with a variant's transport (a generic closure, which Rust spells as a trait).
trait Run<R> {
    fn run<T>(self, transport: T) -> R
    where
        T: GrpcService<Body> + Clone + 'static,
        T::Error: Into<tonic::codegen::StdError>,
        T::ResponseBody: http_body::Body<Data = tonic::codegen::Bytes> + Send + 'static,
        <T::ResponseBody as http_body::Body>::Error: Into<tonic::codegen::StdError> + Send;
}

/// Turns mackerel-trace's tracing off again (and installs its propagators), as
/// `OTEL_SDK_DISABLED=true` does.
fn off() {
    let guard = mackerel_trace::Config::new()
        .with_env_vars([("OTEL_SDK_DISABLED", "true")])
        .init()
        .expect("OTEL_SDK_DISABLED");
    assert!(!guard.is_enabled());
}

fn request() -> Request<OrderRequest> {
    let mut request = Request::new(OrderRequest { id: 42 });
    request
        .metadata_mut()
        .insert("traceparent", TRACEPARENT.parse().expect("traceparent"));
    request
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("tokio runtime")
}

/// One call, to its end (the answer decoded and the trailers read). Not inlined, so that
/// callgrind can count exactly this (`--toggle-collect='*run_call*'`).
#[inline(never)]
fn run_call<T>(
    rt: &tokio::runtime::Runtime,
    client: &mut Grpc<T>,
    request: Request<OrderRequest>,
) -> Order
where
    T: GrpcService<Body>,
    T::Error: Into<tonic::codegen::StdError>,
    T::ResponseBody: http_body::Body<Data = tonic::codegen::Bytes> + Send + 'static,
    <T::ResponseBody as http_body::Body>::Error: Into<tonic::codegen::StdError> + Send,
{
    rt.block_on(async {
        client
            .ready()
            .await
            .map_err(Into::<tonic::codegen::StdError>::into)
            .expect("ready");
        let codec = ProstCodec::<OrderRequest, Order>::default();
        client
            .unary(request, PathAndQuery::from_static(PATH), codec)
            .await
            .expect("the call succeeds")
            .into_inner()
    })
}

/// 1,000 samples of 100 calls each: 100,000 calls per variant, a few seconds each. At that
/// rate the discarding provider's 65,536-span queue is drained every 50 ms long before it
/// fills, so every span is exported, not dropped.
const SAMPLES: u32 = 1_000;
const CALLS_PER_SAMPLE: u32 = 100;

struct Measure<'a, 'b>(Bencher<'a, 'b>);

impl Run<()> for Measure<'_, '_> {
    fn run<T>(self, transport: T)
    where
        T: GrpcService<Body> + Clone + 'static,
        T::Error: Into<tonic::codegen::StdError>,
        T::ResponseBody: http_body::Body<Data = tonic::codegen::Bytes> + Send + 'static,
        <T::ResponseBody as http_body::Body>::Error: Into<tonic::codegen::StdError> + Send,
    {
        let rt = runtime();
        let mut client = Grpc::new(transport);
        self.0
            .with_inputs(request)
            .bench_local_values(|request| run_call(&rt, &mut client, black_box(request)));
    }
}

fn bench(variant: Variant, bencher: Bencher) {
    with_transport(variant, discarding_provider(), Measure(bencher));
}

#[divan::bench(sample_count = SAMPLES, sample_size = CALLS_PER_SAMPLE)]
fn bare(bencher: Bencher) {
    bench(Variant::Bare, bencher);
}

#[divan::bench(sample_count = SAMPLES, sample_size = CALLS_PER_SAMPLE)]
fn server(bencher: Bencher) {
    bench(Variant::Server, bencher);
}

#[divan::bench(sample_count = SAMPLES, sample_size = CALLS_PER_SAMPLE)]
fn hand_written_server(bencher: Bencher) {
    bench(Variant::HandWrittenServer, bencher);
}

#[divan::bench(sample_count = SAMPLES, sample_size = CALLS_PER_SAMPLE)]
fn client_and_server(bencher: Bencher) {
    bench(Variant::ClientAndServer, bencher);
}

#[divan::bench(sample_count = SAMPLES, sample_size = CALLS_PER_SAMPLE)]
fn hand_written_client_and_server(bencher: Bencher) {
    bench(Variant::HandWrittenClientAndServer, bencher);
}

// ---- hand-written OpenTelemetry ----

mod hand {
    use std::sync::atomic::{AtomicBool, Ordering};

    use mackerel_trace::opentelemetry::context::{FutureExt as _, WithContext};
    use mackerel_trace::opentelemetry::trace::{Status, TraceContextExt as _, Tracer as _};
    use mackerel_trace::opentelemetry::{Context, KeyValue};
    use opentelemetry_http::{HeaderExtractor, HeaderInjector};

    use super::*;

    /// `/package.Service/Method` → `package.Service/Method`.
    fn method(path: &str) -> Option<&str> {
        let method = path.strip_prefix('/')?;
        let (service, name) = method.split_once('/')?;
        (!service.is_empty() && !name.is_empty() && !name.contains('/')).then_some(method)
    }

    fn rpc_attributes(path: &str, attributes: &mut Vec<KeyValue>) -> String {
        attributes.push(KeyValue::new("rpc.system.name", "grpc"));
        match method(path) {
            Some(method) => {
                attributes.push(KeyValue::new("rpc.method", method.to_owned()));
                method.to_owned()
            }
            None => {
                attributes.push(KeyValue::new("rpc.method", "_OTHER"));
                attributes.push(KeyValue::new("rpc.method_original", path.to_owned()));
                "grpc".to_owned()
            }
        }
    }

    fn version(version: http::Version) -> Option<&'static str> {
        match version {
            http::Version::HTTP_09 => Some("0.9"),
            http::Version::HTTP_10 => Some("1.0"),
            http::Version::HTTP_11 => Some("1.1"),
            http::Version::HTTP_2 => Some("2"),
            http::Version::HTTP_3 => Some("3"),
            _ => None,
        }
    }

    /// The SERVER span `ServerLayer` starts for a gRPC call: the HTTP attributes true of the
    /// request, then the RPC ones, named by the method.
    fn start_server<B>(tracer: &SdkTracer, request: &http::Request<B>) -> Context {
        let headers = request.headers();
        let parent = global::get_text_map_propagator(|propagator| {
            propagator.extract(&HeaderExtractor(headers))
        });
        let text = |name: http::header::HeaderName| headers.get(name).and_then(|v| v.to_str().ok());
        let uri = request.uri();
        let path = uri.path();
        let mut attributes = Vec::with_capacity(14);
        attributes.push(KeyValue::new("http.request.method", "POST"));
        attributes.push(KeyValue::new("url.path", path.to_owned()));
        if let Some(scheme) = uri.scheme_str() {
            attributes.push(KeyValue::new("url.scheme", scheme.to_owned()));
        }
        if method(path).is_some() {
            attributes.push(KeyValue::new("http.route", path.to_owned()));
        }
        let host = uri
            .authority()
            .map(http::uri::Authority::as_str)
            .or_else(|| text(http::header::HOST));
        if let Some(host) = host {
            match host.rsplit_once(':') {
                Some((address, port)) => {
                    attributes.push(KeyValue::new("server.address", address.to_owned()));
                    if let Ok(port) = port.parse::<u16>() {
                        attributes.push(KeyValue::new("server.port", i64::from(port)));
                    }
                }
                None => attributes.push(KeyValue::new("server.address", host.to_owned())),
            }
        }
        if let Some(agent) = text(http::header::USER_AGENT) {
            attributes.push(KeyValue::new("user_agent.original", agent.to_owned()));
        }
        if let Some(version) = version(request.version()) {
            attributes.push(KeyValue::new("network.protocol.version", version));
        }
        let name = rpc_attributes(path, &mut attributes);
        let span = tracer
            .span_builder(name)
            .with_kind(SpanKind::Server)
            .with_attributes(attributes)
            .start_with_context(tracer, &parent);
        parent.with_span(span)
    }

    /// The CLIENT span `ClientLayer` starts for a gRPC call.
    fn start_client<B>(tracer: &SdkTracer, request: &http::Request<B>) -> Context {
        let uri = request.uri();
        let mut attributes = Vec::with_capacity(7);
        let name = rpc_attributes(uri.path(), &mut attributes);
        if let Some(host) = uri.host() {
            attributes.push(KeyValue::new("server.address", host.to_owned()));
            if let Some(port) = uri.port_u16() {
                attributes.push(KeyValue::new("server.port", i64::from(port)));
            }
        }
        let parent = Context::current();
        let span = tracer
            .span_builder(name)
            .with_kind(SpanKind::Client)
            .with_attributes(attributes)
            .start_with_context(tracer, &parent);
        parent.with_span(span)
    }

    const CODES: [&str; 17] = [
        "OK",
        "CANCELLED",
        "UNKNOWN",
        "INVALID_ARGUMENT",
        "DEADLINE_EXCEEDED",
        "NOT_FOUND",
        "ALREADY_EXISTS",
        "PERMISSION_DENIED",
        "RESOURCE_EXHAUSTED",
        "FAILED_PRECONDITION",
        "ABORTED",
        "OUT_OF_RANGE",
        "UNIMPLEMENTED",
        "INTERNAL",
        "UNAVAILABLE",
        "DATA_LOSS",
        "UNAUTHENTICATED",
    ];

    /// `grpc-status` → the code's name; `UNKNOWN` for anything else.
    fn code(value: &[u8]) -> &'static str {
        std::str::from_utf8(value)
            .ok()
            .filter(|digits| digits.len() <= 2)
            .and_then(|digits| digits.parse::<usize>().ok())
            .and_then(|code| CODES.get(code).copied())
            .unwrap_or("UNKNOWN")
    }

    fn is_error(code: &str, server: bool) -> bool {
        if server {
            matches!(
                code,
                "UNKNOWN"
                    | "DEADLINE_EXCEEDED"
                    | "UNIMPLEMENTED"
                    | "INTERNAL"
                    | "UNAVAILABLE"
                    | "DATA_LOSS"
            )
        } else {
            code != "OK"
        }
    }

    /// A gRPC call's span until its status is known and its response has ended.
    pub(super) struct Call {
        cx: Context,
        server: bool,
        status: Option<(&'static str, Option<String>)>,
        ended: AtomicBool,
    }

    fn status_of(headers: &http::HeaderMap) -> Option<(&'static str, Option<String>)> {
        let code = code(headers.get("grpc-status")?.as_bytes());
        let message = headers.get("grpc-message").map(|value| {
            percent_encoding::percent_decode(value.as_bytes())
                .decode_utf8_lossy()
                .into_owned()
        });
        Some((code, message))
    }

    impl Call {
        fn new<B>(cx: Context, server: bool, response: &http::Response<B>) -> Call {
            let status = status_of(response.headers()).or_else(|| {
                let code = match response.status().as_u16() {
                    200 => return None,
                    400 => "INTERNAL",
                    401 => "UNAUTHENTICATED",
                    403 => "PERMISSION_DENIED",
                    404 => "UNIMPLEMENTED",
                    429 | 502 | 503 | 504 => "UNAVAILABLE",
                    _ => "UNKNOWN",
                };
                Some((code, None))
            });
            Call {
                cx,
                server,
                status,
                ended: AtomicBool::new(false),
            }
        }

        fn end(self, (code, message): (&'static str, Option<String>)) {
            let span = self.cx.span();
            span.set_attribute(KeyValue::new("rpc.response.status_code", code));
            if is_error(code, self.server) {
                span.set_attribute(KeyValue::new("error.type", code));
                span.set_status(Status::error(message.unwrap_or_else(|| code.to_owned())));
            }
            span.end();
        }
    }

    /// Server: the SERVER span, current while the handler's future is created and polled.
    #[derive(Clone, Copy)]
    pub(super) struct ServerLayer {
        pub(super) tracer: &'static SdkTracer,
    }

    impl<S> tower::Layer<S> for ServerLayer {
        type Service = Service<S>;

        fn layer(&self, inner: S) -> Service<S> {
            Service {
                inner,
                tracer: self.tracer,
                server: true,
            }
        }
    }

    /// Client: the CLIENT span, its context injected into the request's headers.
    #[derive(Clone, Copy)]
    pub(super) struct ClientLayer {
        pub(super) tracer: &'static SdkTracer,
    }

    impl<S> tower::Layer<S> for ClientLayer {
        type Service = Service<S>;

        fn layer(&self, inner: S) -> Service<S> {
            Service {
                inner,
                tracer: self.tracer,
                server: false,
            }
        }
    }

    #[derive(Clone)]
    pub(super) struct Service<S> {
        inner: S,
        tracer: &'static SdkTracer,
        server: bool,
    }

    impl<S, ReqBody, ResBody> tower::Service<http::Request<ReqBody>> for Service<S>
    where
        S: tower::Service<http::Request<ReqBody>, Response = http::Response<ResBody>>,
    {
        type Response = http::Response<CallBody<ResBody>>;
        type Error = S::Error;
        type Future = ResponseFuture<S::Future>;

        fn poll_ready(&mut self, task: &mut TaskContext<'_>) -> Poll<Result<(), S::Error>> {
            self.inner.poll_ready(task)
        }

        fn call(&mut self, mut request: http::Request<ReqBody>) -> Self::Future {
            let cx = if self.server {
                start_server(self.tracer, &request)
            } else {
                let cx = start_client(self.tracer, &request);
                global::get_text_map_propagator(|propagator| {
                    propagator.inject_context(&cx, &mut HeaderInjector(request.headers_mut()));
                });
                cx
            };
            let inner = {
                let _attached = cx.clone().attach();
                self.inner.call(request)
            };
            ResponseFuture {
                inner: inner.with_context(cx.clone()),
                cx: Some(cx),
                server: self.server,
            }
        }
    }

    pin_project_lite::pin_project! {
        pub(super) struct ResponseFuture<F> {
            #[pin]
            inner: WithContext<F>,
            cx: Option<Context>,
            server: bool,
        }
    }

    impl<F, B, E> Future for ResponseFuture<F>
    where
        F: Future<Output = Result<http::Response<B>, E>>,
    {
        type Output = Result<http::Response<CallBody<B>>, E>;

        fn poll(self: Pin<&mut Self>, task: &mut TaskContext<'_>) -> Poll<Self::Output> {
            let this = self.project();
            let result = std::task::ready!(this.inner.poll(task));
            let cx = this.cx.take().expect("polled after completion");
            Poll::Ready(match result {
                Ok(response) => {
                    if *this.server {
                        cx.span().set_attribute(KeyValue::new(
                            "http.response.status_code",
                            i64::from(response.status().as_u16()),
                        ));
                    }
                    let call = Call::new(cx, *this.server, &response);
                    Ok(response.map(|inner| CallBody {
                        inner,
                        call: Some(call),
                    }))
                }
                Err(error) => {
                    cx.span().set_status(Status::error("service error"));
                    cx.span().end();
                    Err(error)
                }
            })
        }
    }

    pin_project_lite::pin_project! {
        /// The response body: the status from its trailers, the span ended with it.
        pub(super) struct CallBody<B> {
            #[pin]
            inner: B,
            call: Option<Call>,
        }

        impl<B> PinnedDrop for CallBody<B> {
            fn drop(this: Pin<&mut Self>) {
                if let Some(mut call) = this.project().call.take() {
                    let status = call.status.take().unwrap_or(if *call.ended.get_mut() {
                        ("UNKNOWN", None)
                    } else {
                        ("CANCELLED", None)
                    });
                    call.end(status);
                }
            }
        }
    }

    impl<B: http_body::Body> http_body::Body for CallBody<B> {
        type Data = B::Data;
        type Error = B::Error;

        fn poll_frame(
            self: Pin<&mut Self>,
            task: &mut TaskContext<'_>,
        ) -> Poll<Option<Result<http_body::Frame<B::Data>, B::Error>>> {
            let mut this = self.project();
            let _attached = match &this.call {
                Some(call) if call.server => Some(call.cx.clone().attach()),
                _ => None,
            };
            let polled = this.inner.as_mut().poll_frame(task);
            match &polled {
                Poll::Ready(Some(Ok(frame))) => {
                    let trailers = frame.trailers_ref();
                    if trailers.is_some() || this.inner.is_end_stream() {
                        if let Some(mut call) = this.call.take() {
                            let status = trailers
                                .and_then(status_of)
                                .or_else(|| call.status.take())
                                .unwrap_or(("UNKNOWN", None));
                            call.end(status);
                        }
                    }
                }
                Poll::Ready(None) => {
                    if let Some(mut call) = this.call.take() {
                        let status = call.status.take().unwrap_or(("UNKNOWN", None));
                        call.end(status);
                    }
                }
                Poll::Ready(Some(Err(_))) => {
                    if let Some(call) = this.call.take() {
                        call.cx.span().set_status(Status::error("body error"));
                        call.cx.span().end();
                    }
                }
                Poll::Pending => {}
            }
            polled
        }

        fn is_end_stream(&self) -> bool {
            let ended = self.inner.is_end_stream();
            if ended {
                if let Some(call) = &self.call {
                    call.ended.store(true, Ordering::Relaxed);
                }
            }
            ended
        }

        fn size_hint(&self) -> http_body::SizeHint {
            self.inner.size_hint()
        }
    }
}

// ---- the check that every variant records what it should ----

/// Keeps every span it is handed.
#[derive(Clone, Debug, Default)]
struct Capture(Arc<Mutex<Vec<SpanData>>>);

impl SpanExporter for Capture {
    async fn export(&self, batch: Vec<SpanData>) -> OTelSdkResult {
        self.0.lock().expect("capture").extend(batch);
        Ok(())
    }
}

impl Capture {
    fn provider(&self) -> SdkTracerProvider {
        SdkTracerProvider::builder()
            .with_simple_exporter(self.clone())
            .build()
    }

    fn take(&self) -> Vec<SpanData> {
        std::mem::take(&mut *self.0.lock().expect("capture"))
    }
}

struct Calls(usize);

impl Run<()> for Calls {
    fn run<T>(self, transport: T)
    where
        T: GrpcService<Body> + Clone + 'static,
        T::Error: Into<tonic::codegen::StdError>,
        T::ResponseBody: http_body::Body<Data = tonic::codegen::Bytes> + Send + 'static,
        <T::ResponseBody as http_body::Body>::Error: Into<tonic::codegen::StdError> + Send,
    {
        let rt = runtime();
        let mut client = Grpc::new(transport);
        for _ in 0..self.0 {
            let order = run_call(&rt, &mut client, request());
            assert_eq!(order.item, "order 42");
        }
    }
}

fn attributes(span: &SpanData) -> BTreeMap<String, Value> {
    span.attributes
        .iter()
        .map(|kv| (kv.key.to_string(), kv.value.clone()))
        .collect()
}

const CHECK_CALLS: usize = 3;

/// Runs every instrumented variant into a capturing exporter and asserts that each exports,
/// per call, the SERVER span (and the CLIENT span) that mackerel-trace's layers export: same
/// name, kind, parent and attributes.
fn check_spans() {
    eprintln!("span check ({CHECK_CALLS} calls per variant, capturing exporter):");
    let mut reference: BTreeMap<(bool, String), BTreeMap<String, Value>> = BTreeMap::new();
    for variant in Variant::INSTRUMENTED {
        let capture = Capture::default();
        with_transport(variant, capture.provider(), Calls(CHECK_CALLS));
        let spans = capture.take();
        let per_call = if variant.has_client_span() { 2 } else { 1 };
        assert_eq!(
            spans.len(),
            CHECK_CALLS * per_call,
            "{variant:?}: spans exported"
        );
        for span in &spans {
            assert_eq!(span.name, METHOD, "{variant:?}: span name");
            let attributes = attributes(span);
            assert_eq!(
                attributes.get("rpc.response.status_code"),
                Some(&Value::from("OK")),
                "{variant:?}: status"
            );
            assert_eq!(attributes.get("rpc.method"), Some(&Value::from(METHOD)));
            if span.span_kind == SpanKind::Server {
                assert_eq!(attributes.get("http.route"), Some(&Value::from(PATH)));
                assert_eq!(
                    attributes.get("http.response.status_code"),
                    Some(&Value::I64(200))
                );
                if variant.has_client_span() {
                    let client = spans
                        .iter()
                        .find(|s| s.span_context.span_id() == span.parent_span_id)
                        .expect("the server span's parent is a client span");
                    assert_eq!(client.span_kind, SpanKind::Client, "{variant:?}: parent");
                } else {
                    assert_eq!(span.span_context.trace_id().to_string(), TRACE_ID);
                    assert_eq!(span.parent_span_id.to_string(), PARENT_SPAN_ID);
                }
            }
            // The same attributes as mackerel-trace's layers record (checked first).
            let key = (variant.has_client_span(), format!("{:?}", span.span_kind));
            match reference.get(&key) {
                Some(expected) => assert_eq!(&attributes, expected, "{variant:?}: attributes"),
                None => {
                    reference.insert(key, attributes);
                }
            }
        }
        for kind in [SpanKind::Server, SpanKind::Client] {
            if let Some(span) = spans.iter().find(|s| s.span_kind == kind) {
                let attributes: Vec<String> = span
                    .attributes
                    .iter()
                    .map(|kv| format!("{}={}", kv.key, kv.value))
                    .collect();
                eprintln!("  {variant:?} {kind:?}: {}", attributes.join(" "));
            }
        }
    }
}
