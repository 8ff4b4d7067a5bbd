//! Per-request cost of tracing an axum 0.8 router with mackerel-trace's `tower::ServerLayer`,
//! against the same work written by hand with the plain OpenTelemetry API and against
//! `axum-tracing-opentelemetry` (`tracing` + `tracing-opentelemetry`), every instrumented
//! variant reporting into the same kind of sink, `discarding_provider()`:
//!
//! - `bare`: the router, no layer.
//! - `mackerel_trace`: `.layer(ServerLayer::new())`, `set_tracer_provider` installed. The span
//!   ends when the response body ends.
//! - `hand_written`: a small tower layer doing what ServerLayer does (parent from the global
//!   `TraceContextPropagator` and `opentelemetry_http::HeaderExtractor`, the same SERVER span,
//!   name and attributes, current while the handler's future is created and on every poll via
//!   `FutureExt::with_context`, the status code from the response), ending the span when the
//!   response body ends, as ServerLayer does.
//! - `hand_written_from_fn`: the same span from an `axum::middleware::from_fn_with_state`, as
//!   most hand-written middleware is; it ends the span as soon as the response is produced.
//! - `tracing_alternative`: `axum_tracing_opentelemetry::middleware::OtelAxumLayer` with a
//!   `tracing_subscriber::registry()`, a `Targets` filter (INFO, and `otel::tracing` at TRACE,
//!   where that crate emits its span) and the `tracing_opentelemetry` layer with its default
//!   settings, installed with `tracing::subscriber::set_default` around the measurement. Its
//!   span ends when its response future is dropped, i.e. when the response is produced.
//! - `tracing_alternative_lean`: the same with `tracing-opentelemetry`'s per-span extras off
//!   (location, thread, target, busy/idle time).
//!
//! Each iteration is one request through the same `Router` (`GET /orders/{id}`, a handler
//! returning a short `&'static str` with 200), called directly as a tower `Service`
//! (`ServiceExt::oneshot` on a clone of the router; no sockets), with `traceparent`, `Host` and
//! `User-Agent` headers, and the response body collected (`BodyExt::collect`), all inside one
//! `runtime.block_on` per request on a current-thread tokio runtime built once per benchmark.
//! The request is built outside the timed region (divan's `with_inputs`); `block_on` is inside
//! it, in `bare` too, so a layer's own cost is its variant's time minus `bare`'s.
//!
//! Before measuring, [`check_spans`] runs every instrumented variant into a capturing exporter
//! and asserts it really exports one SERVER span per request, named `GET /orders/{id}`,
//! continuing the caller's trace, with the attributes ServerLayer records (so no variant
//! measures a no-op); it prints on stderr what each one records beyond those.
//!
//! `cargo bench -p mackerel-trace-benches --bench http`

use std::future::Future;
use std::hint::black_box;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context as TaskContext, Poll};

use axum::body::{Body, Bytes};
use axum::extract::{MatchedPath, Request, State};
use axum::middleware::{self, Next};
use axum::response::Response;
use axum::routing::get;
use axum::Router;
use divan::Bencher;
use http_body_util::BodyExt as _;
use mackerel_trace::opentelemetry::context::{FutureExt as _, WithContext};
use mackerel_trace::opentelemetry::trace::{
    SpanKind, Status, TraceContextExt as _, Tracer as _, TracerProvider as _,
};
use mackerel_trace::opentelemetry::{global, Context, KeyValue, Value};
use mackerel_trace::opentelemetry_sdk::error::OTelSdkResult;
use mackerel_trace::opentelemetry_sdk::propagation::TraceContextPropagator;
use mackerel_trace::opentelemetry_sdk::trace::{
    SdkTracer, SdkTracerProvider, SpanData, SpanExporter,
};
use mackerel_trace_benches::discarding_provider;
use opentelemetry_http::HeaderExtractor;
use tracing_subscriber::layer::SubscriberExt as _;

const TRACEPARENT: &str = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
const TRACE_ID: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
const PARENT_SPAN_ID: &str = "00f067aa0ba902b7";
const ROUTE: &str = "/orders/{id}";
const SPAN_NAME: &str = "GET /orders/{id}";

fn main() {
    // As after `mackerel_trace::init()`: mackerel-trace's propagators (tracecontext, baggage)
    // installed, tracing off until a variant installs a provider. Then the OpenTelemetry global
    // propagator that the hand-written variants and axum-tracing-opentelemetry extract with:
    // W3C trace context alone.
    off();
    global::set_text_map_propagator(TraceContextPropagator::new());
    check_spans();
    divan::main();
}

// ---- the variants ----

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Variant {
    Bare,
    MackerelTrace,
    HandWritten,
    HandWrittenFromFn,
    TracingAlternative,
    TracingAlternativeLean,
}

impl Variant {
    const INSTRUMENTED: [Variant; 5] = [
        Variant::MackerelTrace,
        Variant::HandWritten,
        Variant::HandWrittenFromFn,
        Variant::TracingAlternative,
        Variant::TracingAlternativeLean,
    ];
}

/// A variant's router and what it installed; dropping it uninstalls.
struct Setup {
    app: Router,
    provider: Option<SdkTracerProvider>,
    _subscriber: Option<tracing::subscriber::DefaultGuard>,
}

impl Drop for Setup {
    fn drop(&mut self) {
        if let Some(provider) = self.provider.take() {
            let _ = provider.shutdown();
        }
        off();
    }
}

fn router() -> Router {
    Router::new().route(ROUTE, get(|| async { "order 42" }))
}

/// `variant`'s router, its spans going to `provider`.
fn setup(variant: Variant, provider: SdkTracerProvider) -> Setup {
    let mut subscriber = None;
    let app = match variant {
        Variant::Bare => router(),
        Variant::MackerelTrace => {
            mackerel_trace::set_tracer_provider(provider.clone());
            router().layer(mackerel_trace::tower::ServerLayer::new())
        }
        Variant::HandWritten => router().layer(hand::Layer {
            tracer: leak_tracer(&provider),
        }),
        Variant::HandWrittenFromFn => router().layer(middleware::from_fn_with_state(
            leak_tracer(&provider),
            hand::middleware,
        )),
        Variant::TracingAlternative | Variant::TracingAlternativeLean => {
            let lean = variant == Variant::TracingAlternativeLean;
            subscriber = Some(tracing::subscriber::set_default(tracing_subscriber(
                &provider,
                alternative_filter(),
                lean,
            )));
            router().layer(axum_tracing_opentelemetry::middleware::OtelAxumLayer::default())
        }
    };
    Setup {
        app,
        provider: Some(provider),
        _subscriber: subscriber,
    }
}

/// The tracer the hand-written variants use, `&'static` like the one ServerLayer reads, so
/// cloning the service per request (axum does) costs nothing either.
fn leak_tracer(provider: &SdkTracerProvider) -> &'static SdkTracer {
    Box::leak(Box::new(provider.tracer("bench")))
}

/// axum-tracing-opentelemetry starts its SERVER span at TRACE level under the target
/// `otel::tracing` (INFO only with its `tracing_level_info` feature), so that it can be turned
/// on and off by that target: a service that filters at INFO, as most do, records nothing until
/// it lets that target through at TRACE (`otel::tracing=trace`), as this filter does.
fn alternative_filter() -> tracing_subscriber::filter::Targets {
    tracing_subscriber::filter::Targets::new()
        .with_default(tracing::Level::INFO)
        .with_target("otel::tracing", tracing::Level::TRACE)
}

/// `tracing` spans through `tracing-opentelemetry` into `provider`, behind `filter`: with its
/// default settings (as in the `overhead` bench), or `lean`, without the extras those add to
/// every span (`code.*` location, `thread.*`, `target`, and `busy_ns`/`idle_ns`, which take
/// the time on every enter and exit).
fn tracing_subscriber(
    provider: &SdkTracerProvider,
    filter: tracing_subscriber::filter::Targets,
    lean: bool,
) -> impl tracing::Subscriber + Send + Sync {
    let layer = tracing_opentelemetry::layer()
        .with_tracer(provider.tracer("bench"))
        .with_location(!lean)
        .with_threads(!lean)
        .with_target(!lean)
        .with_tracked_inactivity(!lean);
    tracing_subscriber::registry().with(filter).with(layer)
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

fn request() -> Request {
    Request::builder()
        .uri("/orders/42")
        .header(http::header::HOST, "shop.example:8080")
        .header(http::header::USER_AGENT, "bench-client/1.0")
        .header("traceparent", TRACEPARENT)
        .body(Body::empty())
        .expect("request")
}

/// One request: the router's response, its body collected (ServerLayer's span ends here).
async fn call(app: &Router, request: Request) -> Bytes {
    use tower::ServiceExt as _;
    let response = app.clone().oneshot(request).await.expect("infallible");
    assert_eq!(response.status(), http::StatusCode::OK);
    response
        .into_body()
        .collect()
        .await
        .expect("body")
        .to_bytes()
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("tokio runtime")
}

/// 1,000 samples of 100 requests each (divan's automatic sizing picks 100 × 1 here, too few
/// and too noisy for a few microseconds): 100,000 requests per variant, about a second each.
/// At that rate the discarding provider's 65,536-span queue is drained every 50 ms long before
/// it fills, so every span is exported, not dropped.
const SAMPLES: u32 = 1_000;
const REQUESTS_PER_SAMPLE: u32 = 100;

fn bench(variant: Variant, bencher: Bencher) {
    let setup = setup(variant, discarding_provider());
    let rt = runtime();
    bencher
        .with_inputs(request)
        .bench_local_values(|request| rt.block_on(call(&setup.app, black_box(request))));
    drop(setup);
}

#[divan::bench(sample_count = SAMPLES, sample_size = REQUESTS_PER_SAMPLE)]
fn bare(bencher: Bencher) {
    bench(Variant::Bare, bencher);
}

#[divan::bench(sample_count = SAMPLES, sample_size = REQUESTS_PER_SAMPLE)]
fn mackerel_trace(bencher: Bencher) {
    bench(Variant::MackerelTrace, bencher);
}

#[divan::bench(sample_count = SAMPLES, sample_size = REQUESTS_PER_SAMPLE)]
fn hand_written(bencher: Bencher) {
    bench(Variant::HandWritten, bencher);
}

#[divan::bench(sample_count = SAMPLES, sample_size = REQUESTS_PER_SAMPLE)]
fn hand_written_from_fn(bencher: Bencher) {
    bench(Variant::HandWrittenFromFn, bencher);
}

#[divan::bench(sample_count = SAMPLES, sample_size = REQUESTS_PER_SAMPLE)]
fn tracing_alternative(bencher: Bencher) {
    bench(Variant::TracingAlternative, bencher);
}

#[divan::bench(sample_count = SAMPLES, sample_size = REQUESTS_PER_SAMPLE)]
fn tracing_alternative_lean(bencher: Bencher) {
    bench(Variant::TracingAlternativeLean, bencher);
}

// ---- hand-written OpenTelemetry ----

mod hand {
    use super::*;

    /// The method as the semantic conventions name it (`_OTHER` for the rest).
    fn method(method: &http::Method) -> &'static str {
        match *method {
            http::Method::GET => "GET",
            http::Method::POST => "POST",
            http::Method::PUT => "PUT",
            http::Method::DELETE => "DELETE",
            http::Method::PATCH => "PATCH",
            http::Method::HEAD => "HEAD",
            http::Method::OPTIONS => "OPTIONS",
            http::Method::CONNECT => "CONNECT",
            http::Method::TRACE => "TRACE",
            _ => "_OTHER",
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

    /// What ServerLayer does when the request comes in: the parent from the headers (the
    /// global propagator), a SERVER span `{method} {route}` with the same attributes, as the
    /// current span of the returned context.
    pub(super) fn start<B>(tracer: &SdkTracer, request: &http::Request<B>) -> Context {
        let headers = request.headers();
        let parent = global::get_text_map_propagator(|propagator| {
            propagator.extract(&HeaderExtractor(headers))
        });
        let text = |name: http::header::HeaderName| headers.get(name).and_then(|v| v.to_str().ok());
        let uri = request.uri();
        let route = request
            .extensions()
            .get::<MatchedPath>()
            .map(MatchedPath::as_str);
        let method = method(request.method());
        let mut attributes = Vec::with_capacity(10);
        attributes.push(KeyValue::new("http.request.method", method));
        attributes.push(KeyValue::new("url.path", uri.path().to_owned()));
        if let Some(scheme) = uri.scheme_str() {
            attributes.push(KeyValue::new("url.scheme", scheme.to_owned()));
        }
        if let Some(route) = route {
            attributes.push(KeyValue::new("http.route", route.to_owned()));
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
        let name = match route {
            Some(route) => format!("{method} {route}"),
            None => method.to_owned(),
        };
        let span = tracer
            .span_builder(name)
            .with_kind(SpanKind::Server)
            .with_attributes(attributes)
            .start_with_context(tracer, &parent);
        parent.with_span(span)
    }

    pub(super) fn status(cx: &Context, status: http::StatusCode) {
        let span = cx.span();
        span.set_attribute(KeyValue::new(
            "http.response.status_code",
            i64::from(status.as_u16()),
        ));
        if status.is_server_error() {
            span.set_attribute(KeyValue::new("error.type", status.as_str().to_owned()));
            span.set_status(Status::error(status.to_string()));
        }
    }

    /// A tower layer doing what ServerLayer does: span current while the handler's future is
    /// created and on every poll, status on the response, ended when the body ends or is
    /// dropped.
    #[derive(Clone, Copy)]
    pub(super) struct Layer {
        pub(super) tracer: &'static SdkTracer,
    }

    impl<S> tower::Layer<S> for Layer {
        type Service = Service<S>;

        fn layer(&self, inner: S) -> Service<S> {
            Service {
                inner,
                tracer: self.tracer,
            }
        }
    }

    #[derive(Clone)]
    pub(super) struct Service<S> {
        inner: S,
        tracer: &'static SdkTracer,
    }

    impl<S, ReqBody, ResBody> tower::Service<http::Request<ReqBody>> for Service<S>
    where
        S: tower::Service<http::Request<ReqBody>, Response = http::Response<ResBody>>,
    {
        type Response = http::Response<SpanBody<ResBody>>;
        type Error = S::Error;
        type Future = ResponseFuture<S::Future>;

        fn poll_ready(&mut self, task: &mut TaskContext<'_>) -> Poll<Result<(), S::Error>> {
            self.inner.poll_ready(task)
        }

        fn call(&mut self, request: http::Request<ReqBody>) -> Self::Future {
            let cx = start(self.tracer, &request);
            let inner = {
                let _attached = cx.clone().attach();
                self.inner.call(request)
            };
            ResponseFuture {
                inner: inner.with_context(cx.clone()),
                cx: Some(cx),
            }
        }
    }

    pin_project_lite::pin_project! {
        pub(super) struct ResponseFuture<F> {
            #[pin]
            inner: WithContext<F>,
            cx: Option<Context>,
        }
    }

    impl<F, B, E> Future for ResponseFuture<F>
    where
        F: Future<Output = Result<http::Response<B>, E>>,
    {
        type Output = Result<http::Response<SpanBody<B>>, E>;

        fn poll(self: Pin<&mut Self>, task: &mut TaskContext<'_>) -> Poll<Self::Output> {
            let this = self.project();
            let result = std::task::ready!(this.inner.poll(task));
            let cx = this.cx.take();
            Poll::Ready(match result {
                Ok(response) => {
                    if let Some(cx) = &cx {
                        status(cx, response.status());
                    }
                    Ok(response.map(|inner| SpanBody { inner, cx }))
                }
                Err(error) => {
                    if let Some(cx) = cx {
                        cx.span().set_status(Status::error("service error"));
                        cx.span().end();
                    }
                    Err(error)
                }
            })
        }
    }

    pin_project_lite::pin_project! {
        /// The response body, ending the span at its end (or when dropped).
        pub(super) struct SpanBody<B> {
            #[pin]
            inner: B,
            cx: Option<Context>,
        }

        impl<B> PinnedDrop for SpanBody<B> {
            fn drop(this: Pin<&mut Self>) {
                if let Some(cx) = this.project().cx.take() {
                    cx.span().end();
                }
            }
        }
    }

    impl<B: http_body::Body> http_body::Body for SpanBody<B> {
        type Data = B::Data;
        type Error = B::Error;

        fn poll_frame(
            self: Pin<&mut Self>,
            task: &mut TaskContext<'_>,
        ) -> Poll<Option<Result<http_body::Frame<B::Data>, B::Error>>> {
            let this = self.project();
            let polled = this.inner.poll_frame(task);
            if let Poll::Ready(None | Some(Err(_))) = &polled {
                if let Some(cx) = this.cx.take() {
                    cx.span().end();
                }
            }
            polled
        }

        fn is_end_stream(&self) -> bool {
            self.inner.is_end_stream()
        }

        fn size_hint(&self) -> http_body::SizeHint {
            self.inner.size_hint()
        }
    }

    /// The same span as a typical `axum::middleware::from_fn` would make it: current while the
    /// handler runs, ended as soon as the response is produced (before the body is sent).
    pub(super) async fn middleware(
        State(tracer): State<&'static SdkTracer>,
        request: Request,
        next: Next,
    ) -> Response {
        let cx = start(tracer, &request);
        let response = next.run(request).with_context(cx.clone()).await;
        status(&cx, response.status());
        cx.span().end();
        response
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

/// The attributes every variant must record, as ServerLayer records them.
fn expected_attributes() -> Vec<(&'static str, Value)> {
    vec![
        ("http.request.method", Value::from("GET")),
        ("url.path", Value::from("/orders/42")),
        ("http.route", Value::from(ROUTE)),
        ("server.address", Value::from("shop.example")),
        ("server.port", Value::I64(8080)),
        ("user_agent.original", Value::from("bench-client/1.0")),
        ("network.protocol.version", Value::from("1.1")),
        ("http.response.status_code", Value::I64(200)),
    ]
}

const CHECK_REQUESTS: usize = 3;

/// Runs every instrumented variant into a capturing exporter and asserts it exports one SERVER
/// span per request, named `GET /orders/{id}`, child of the `traceparent` parent, with the
/// attributes of [`expected_attributes`]; prints what each records beyond them.
fn check_spans() {
    let rt = runtime();
    let expected = expected_attributes();
    eprintln!("span check ({CHECK_REQUESTS} requests per variant, capturing exporter):");
    for variant in Variant::INSTRUMENTED {
        let capture = Capture::default();
        let setup = setup(variant, capture.provider());
        for _ in 0..CHECK_REQUESTS {
            let body = rt.block_on(call(&setup.app, request()));
            assert_eq!(&body[..], b"order 42");
        }
        drop(setup);
        let spans = capture.take();
        assert_eq!(spans.len(), CHECK_REQUESTS, "{variant:?}: spans exported");
        for span in &spans {
            assert_eq!(span.name, SPAN_NAME, "{variant:?}: span name");
            assert_eq!(span.span_kind, SpanKind::Server, "{variant:?}: span kind");
            assert_eq!(
                span.span_context.trace_id().to_string(),
                TRACE_ID,
                "{variant:?}: trace id"
            );
            assert_eq!(
                span.parent_span_id.to_string(),
                PARENT_SPAN_ID,
                "{variant:?}: parent"
            );
            assert!(span.parent_span_is_remote, "{variant:?}: remote parent");
            for (key, value) in &expected {
                let got = span
                    .attributes
                    .iter()
                    .find(|kv| kv.key.as_str() == *key)
                    .map(|kv| &kv.value);
                assert_eq!(got, Some(value), "{variant:?}: attribute {key}");
            }
        }
        let extra: Vec<String> = spans[0]
            .attributes
            .iter()
            .filter(|kv| !expected.iter().any(|(key, _)| *key == kv.key.as_str()))
            .map(|kv| format!("{}={:?}", kv.key, kv.value))
            .collect();
        eprintln!(
            "  {variant:?}: {} spans, {} attributes; beyond ServerLayer's: [{}]; status {:?}; \
             scope {:?}",
            spans.len(),
            spans[0].attributes.len(),
            extra.join(", "),
            spans[0].status,
            spans[0].instrumentation_scope.name(),
        );
    }

    // The alternative under a plain INFO filter: its TRACE-level span is filtered out.
    let capture = Capture::default();
    let provider = capture.provider();
    let info = tracing_subscriber::filter::Targets::new().with_default(tracing::Level::INFO);
    let app = router().layer(axum_tracing_opentelemetry::middleware::OtelAxumLayer::default());
    tracing::subscriber::with_default(tracing_subscriber(&provider, info, false), || {
        for _ in 0..CHECK_REQUESTS {
            rt.block_on(call(&app, request()));
        }
    });
    let _ = provider.shutdown();
    eprintln!(
        "  TracingAlternative with an INFO filter (no `otel::tracing=trace`): {} spans",
        capture.take().len()
    );
}
