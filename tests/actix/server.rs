//! The harness: the app served on 127.0.0.1 with its spans captured, and finding spans.

use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use actix_web::web;
use actix_web::HttpServer;
use mackerel_trace::actix::Middleware;
use mackerel_trace::opentelemetry::trace::{SpanKind, Status};
use mackerel_trace::opentelemetry::Value;
use mackerel_trace::opentelemetry_sdk::trace::SpanData;
use mackerel_trace::testing::SpanCapture;

use crate::app::{app, Gate};

/// One test at a time: the installed provider is process-wide.
static PIPELINE: Mutex<()> = Mutex::new(());

fn exclusive() -> MutexGuard<'static, ()> {
    PIPELINE.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Serves `app` on 127.0.0.1 with the spans going to a new capture, runs `body` against it
/// with a reqwest client, stops the server (so every span has ended) and returns the spans.
pub fn with_server<F, Fut>(body: F) -> Vec<SpanData>
where
    F: FnOnce(String, reqwest::Client, Served) -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    with_middleware(Middleware::new(), body)
}

/// [`with_server`], with `middleware` outermost in the app.
pub fn with_middleware<F, Fut>(middleware: Middleware, body: F) -> Vec<SpanData>
where
    F: FnOnce(String, reqwest::Client, Served) -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    let _one = exclusive();
    let capture = SpanCapture::install();
    let gate = web::Data::new(Gate::default());
    let (started, receive) = std::sync::mpsc::channel();
    let server_gate = gate.clone();
    let thread = std::thread::spawn(move || {
        actix_web::rt::System::new().block_on(async move {
            let server = HttpServer::new(move || app(server_gate.clone(), middleware.clone()))
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
pub struct Served {
    pub capture: SpanCapture,
    pub gate: web::Data<Gate>,
}

impl Served {
    /// Server spans named `name` ended so far.
    pub fn ended(&self, name: &str) -> usize {
        self.capture
            .spans_named(name)
            .iter()
            .filter(|s| s.span_kind == SpanKind::Server)
            .count()
    }

    /// Waits (at most 5 s) until a server span named `name` has ended.
    pub async fn wait_until_ended(&self, name: &str) {
        for _ in 0..500 {
            if self.ended(name) > 0 {
                return;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        panic!("no span {name:?} ended within 5 s");
    }
}

pub fn server<'a>(spans: &'a [SpanData], name: &str) -> &'a SpanData {
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

pub fn by_name<'a>(spans: &'a [SpanData], name: &str) -> &'a SpanData {
    spans
        .iter()
        .find(|s| s.name == name)
        .unwrap_or_else(|| panic!("no span {name:?} in {:?}", names(spans)))
}

pub fn names(spans: &[SpanData]) -> Vec<String> {
    spans
        .iter()
        .map(|s| format!("{} ({:?})", s.name, s.span_kind))
        .collect()
}

pub fn attr<'a>(span: &'a SpanData, key: &str) -> Option<&'a Value> {
    span.attributes
        .iter()
        .find(|kv| kv.key.as_str() == key)
        .map(|kv| &kv.value)
}

pub fn string(span: &SpanData, key: &str) -> Option<String> {
    attr(span, key).map(|value| match value {
        Value::String(s) => s.as_str().to_owned(),
        other => panic!("{key} is not a string: {other:?}"),
    })
}

pub fn int(span: &SpanData, key: &str) -> Option<i64> {
    attr(span, key).map(|value| match value {
        Value::I64(i) => *i,
        other => panic!("{key} is not an int: {other:?}"),
    })
}

pub fn is_error(span: &SpanData) -> bool {
    matches!(span.status, Status::Error { .. })
}
