//! Per-request cost of tracing an actix-web 4 app with mackerel-trace's `actix::Middleware`,
//! against the OpenTelemetry project's own middleware, `opentelemetry-instrumentation-actix-web`
//! 0.25 (`RequestTracing`, on the same `opentelemetry` 0.33), both reporting into the same kind
//! of sink, `discarding_provider()`:
//!
//! - `bare`: the app, no middleware.
//! - `mackerel_trace`: `.wrap(mackerel_trace::actix::Middleware::new())`, `set_tracer_provider`
//!   installed. The route is read after routing; the span ends when the response body ends.
//! - `contrib`: `.wrap(RequestTracing::new())` (its default features off: no metrics), the
//!   provider installed as the OpenTelemetry global, which it takes its tracer from. It reads
//!   the route before routing and ends the span when the response head is ready; it also
//!   reads actix's `ConnectionInfo` (for `client.address`).
//!
//! Both extract the parent with W3C trace context and baggage (mackerel-trace's default, set as
//! the OpenTelemetry global propagator too, which the contrib middleware uses).
//!
//! Each iteration is one request through the same app (`GET /orders/{id}`, a handler returning
//! a short `&'static str` with 200), built once with `actix_web::test::init_service` and called
//! directly as a service (no sockets), with `traceparent`, `Host` and `User-Agent` headers, and
//! the response body read to its end (`body::to_bytes`), all inside one `block_on` per request
//! on an actix system (a current-thread tokio runtime) built once per benchmark. The request is
//! built outside the timed region (divan's `with_inputs`); `block_on` is inside it, in `bare`
//! too, so a middleware's own cost is its variant's time minus `bare`'s.
//!
//! Before measuring, [`check_spans`] runs both instrumented variants into a capturing exporter
//! and asserts each exports one SERVER span per request, named `GET /orders/{id}`, continuing
//! the caller's trace, with the attributes the middleware records; it prints what each records
//! beyond those.
//!
//! `cargo bench -p mackerel-trace-benches --bench actix`

use std::hint::black_box;
use std::sync::{Arc, Mutex};

use actix_web::body::MessageBody;
use actix_web::dev::{Service, ServiceResponse};
use actix_web::rt::System;
use actix_web::web::Bytes;
use actix_web::{test, web, App};
use divan::Bencher;
use mackerel_trace::opentelemetry::global;
use mackerel_trace::opentelemetry::propagation::TextMapCompositePropagator;
use mackerel_trace::opentelemetry::trace::SpanKind;
use mackerel_trace::opentelemetry::Value;
use mackerel_trace::opentelemetry_sdk::error::OTelSdkResult;
use mackerel_trace::opentelemetry_sdk::propagation::{BaggagePropagator, TraceContextPropagator};
use mackerel_trace::opentelemetry_sdk::trace::{SdkTracerProvider, SpanData, SpanExporter};
use mackerel_trace_benches::discarding_provider;
use opentelemetry_instrumentation_actix_web::RequestTracing;

const TRACEPARENT: &str = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
const TRACE_ID: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
const PARENT_SPAN_ID: &str = "00f067aa0ba902b7";
const ROUTE: &str = "/orders/{id}";
const SPAN_NAME: &str = "GET /orders/{id}";

fn main() {
    // As after `mackerel_trace::init()`: mackerel-trace's propagators (tracecontext, baggage),
    // tracing off until a variant installs a provider; the same propagators as the
    // OpenTelemetry global, which the contrib middleware extracts with.
    off();
    global::set_text_map_propagator(TextMapCompositePropagator::new(vec![
        Box::new(TraceContextPropagator::new()),
        Box::new(BaggagePropagator::new()),
    ]));
    check_spans();
    divan::main();
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Variant {
    Bare,
    MackerelTrace,
    Contrib,
}

impl Variant {
    const INSTRUMENTED: [Variant; 2] = [Variant::MackerelTrace, Variant::Contrib];
}

async fn order() -> &'static str {
    "order 42"
}

/// Installs `provider` the way `variant` takes it; the returned guard uninstalls.
fn install(variant: Variant, provider: SdkTracerProvider) -> Installed {
    match variant {
        Variant::Bare => {}
        Variant::MackerelTrace => mackerel_trace::set_tracer_provider(provider.clone()),
        Variant::Contrib => global::set_tracer_provider(provider.clone()),
    }
    Installed(Some(provider))
}

struct Installed(Option<SdkTracerProvider>);

impl Drop for Installed {
    fn drop(&mut self) {
        if let Some(provider) = self.0.take() {
            let _ = provider.shutdown();
        }
        off();
    }
}

/// Runs `run` with `variant`'s app, built (as actix builds it for a worker) on `system`.
/// The apps' types differ, hence the macro.
macro_rules! with_app {
    ($variant:expr, $system:expr, |$app:ident| $run:expr) => {{
        let routes = || App::new().route(ROUTE, web::get().to(order));
        match $variant {
            Variant::Bare => {
                let $app = $system.block_on(test::init_service(routes()));
                $run
            }
            Variant::MackerelTrace => {
                let $app = $system.block_on(test::init_service(
                    routes().wrap(mackerel_trace::actix::Middleware::new()),
                ));
                $run
            }
            Variant::Contrib => {
                let $app =
                    $system.block_on(test::init_service(routes().wrap(RequestTracing::new())));
                $run
            }
        }
    }};
}

fn request() -> actix_http::Request {
    test::TestRequest::get()
        .uri("/orders/42")
        .insert_header(("host", "shop.example:8080"))
        .insert_header(("user-agent", "bench-client/1.0"))
        .insert_header(("traceparent", TRACEPARENT))
        .to_request()
}

/// One request: the app's response, its body read to the end (mackerel-trace's span ends here).
async fn call<S, B>(app: &S, request: actix_http::Request) -> Bytes
where
    S: Service<actix_http::Request, Response = ServiceResponse<B>, Error = actix_web::Error>,
    B: MessageBody,
    B::Error: std::fmt::Debug,
{
    let response = app.call(request).await.expect("response");
    assert_eq!(response.status(), actix_web::http::StatusCode::OK);
    actix_web::body::to_bytes(response.into_body())
        .await
        .expect("body")
}

/// 1,000 samples of 100 requests each, as in the `http` bench: 100,000 requests per variant,
/// drained by the discarding provider long before its queue fills.
const SAMPLES: u32 = 1_000;
const REQUESTS_PER_SAMPLE: u32 = 100;

fn bench(variant: Variant, bencher: Bencher) {
    let _installed = install(variant, discarding_provider());
    let system = System::new();
    with_app!(variant, system, |app| {
        bencher
            .with_inputs(request)
            .bench_local_values(|request| system.block_on(call(&app, black_box(request))));
    });
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
fn contrib(bencher: Bencher) {
    bench(Variant::Contrib, bencher);
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

/// The attributes both middlewares must record.
fn expected_attributes() -> Vec<(&'static str, Value)> {
    vec![
        ("http.request.method", Value::from("GET")),
        ("url.path", Value::from("/orders/42")),
        ("url.scheme", Value::from("http")),
        ("http.route", Value::from(ROUTE)),
        ("server.address", Value::from("shop.example")),
        ("server.port", Value::I64(8080)),
        ("user_agent.original", Value::from("bench-client/1.0")),
        ("network.protocol.version", Value::from("1.1")),
        ("http.response.status_code", Value::I64(200)),
    ]
}

const CHECK_REQUESTS: usize = 3;

/// Runs both instrumented variants into a capturing exporter and asserts each exports one
/// SERVER span per request, named `GET /orders/{id}`, child of the `traceparent` parent, with
/// the attributes of [`expected_attributes`]; prints what each records beyond them.
fn check_spans() {
    let expected = expected_attributes();
    eprintln!("span check ({CHECK_REQUESTS} requests per variant, capturing exporter):");
    for variant in Variant::INSTRUMENTED {
        let capture = Capture::default();
        let installed = install(variant, capture.provider());
        let system = System::new();
        with_app!(variant, system, |app| {
            for _ in 0..CHECK_REQUESTS {
                let body = system.block_on(call(&app, request()));
                assert_eq!(&body[..], b"order 42");
            }
        });
        drop(installed);
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
            "  {variant:?}: {} spans, {} attributes; beyond the shared ones: [{}]; status {:?}; \
             scope {:?}",
            spans.len(),
            spans[0].attributes.len(),
            extra.join(", "),
            spans[0].status,
            spans[0].instrumentation_scope.name(),
        );
    }
}
