//! Shared by the integration tests: one pipeline at a time (the installed tracer is
//! process-wide), a quick way to make spans, and real database servers ([`servers`]).

#![allow(dead_code)] // each test file uses a different part

pub mod servers;

use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use mackerel_trace::opentelemetry::global;
use mackerel_trace::opentelemetry::trace::{Span as _, Tracer as _};
use mackerel_trace::opentelemetry::KeyValue;
use mackerel_trace::{Config, Guard};

static PIPELINE: Mutex<()> = Mutex::new(());

/// Holds the process-wide pipeline for one test.
pub fn exclusive() -> MutexGuard<'static, ()> {
    PIPELINE.lock().unwrap_or_else(PoisonError::into_inner)
}

/// A config that reads only `vars` (never the real environment), exports to `endpoint`
/// quickly, and gives up quickly at shutdown.
pub fn config(endpoint: &str, vars: &[(&str, &str)]) -> Config {
    let mut all: Vec<(String, String)> = vec![(
        "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT".to_owned(),
        endpoint.to_owned(),
    )];
    all.extend(vars.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())));
    Config::new()
        .service_name("export-test")
        .schedule_delay(Duration::from_millis(50))
        .shutdown_timeout(Duration::from_secs(5))
        .with_env_vars(all)
}

pub fn start(config: Config) -> Guard {
    config.init().expect("valid test configuration")
}

/// Records `count` finished spans named `name-<i>` through the OpenTelemetry global tracer.
pub fn record_spans(name: &str, count: usize, payload_bytes: usize) {
    let tracer = global::tracer("export-test");
    let payload = "x".repeat(payload_bytes);
    for i in 0..count {
        let mut span = tracer.start(format!("{name}-{i}"));
        if payload_bytes > 0 {
            span.set_attribute(KeyValue::new("payload", payload.clone()));
        }
        span.end();
    }
}

/// A port on 127.0.0.1 that nothing listens on: bound, read, closed.
pub fn unused_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .unwrap()
}

/// Serves `app` on 127.0.0.1 on the current tokio runtime for as long as it runs; returns the
/// base URL.
pub async fn serve(app: axum::Router) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    format!("http://{address}")
}

/// The body of a plain (untraced) GET of `url`.
pub async fn get_text(url: &str) -> String {
    reqwest::get(url).await.unwrap().text().await.unwrap()
}
