//! A program using `#[mackerel_trace::main]`, run by `tests/main_attr.rs` as a child process
//! with the environment pointing at a local receiver. The first argument picks the shape of
//! `main`; each shape records the spans `work` and `after-work`, then ends as named.

use mackerel_trace::opentelemetry::global;
use mackerel_trace::opentelemetry::trace::Tracer as _;

fn work() {
    let tracer = global::tracer("scenario");
    tracer.in_span("work", |_| {});
    tracer.in_span("after-work", |_| {});
}

#[mackerel_trace::main(service_name = "scenario-ok", environment = "test")]
fn plain_ok() {
    work();
}

#[mackerel_trace::main]
fn plain_err() -> Result<(), String> {
    work();
    Err("main failed".to_owned())
}

#[mackerel_trace::main]
fn plain_panic() {
    work();
    panic!("main panicked");
}

#[mackerel_trace::main]
#[tokio::main]
async fn tokio_multi_outer() {
    tokio::spawn(async { work() }).await.unwrap();
}

#[tokio::main(flavor = "current_thread")]
#[mackerel_trace::main]
async fn tokio_current_inner() {
    work();
    tokio::task::yield_now().await;
}

#[mackerel_trace::main]
#[tokio::main(flavor = "current_thread")]
async fn tokio_current_outer_panic() {
    work();
    panic!("async main panicked");
}

/// Configured in code from a map, while the process environment holds other OTLP values:
/// what is sent must be what `Config` resolved from the map.
fn config_from_map() {
    let endpoint = std::env::var("SCENARIO_ENDPOINT").unwrap_or_default();
    let guard = mackerel_trace::Config::new()
        .service_name("scenario-map")
        .with_env_vars([
            ("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", endpoint.as_str()),
            ("MACKEREL_APIKEY", "key-from-config"),
            ("OTEL_EXPORTER_OTLP_COMPRESSION", "none"),
        ])
        .init()
        .expect("valid configuration");
    work();
    drop(guard);
}

/// Nothing configured, console as the fallback (the quickstart's setup).
fn console_fallback() {
    let guard = mackerel_trace::Config::new()
        .service_name("scenario-fallback")
        .fallback_to_console()
        .init()
        .expect("valid configuration");
    work();
    drop(guard);
}

fn main() -> Result<(), String> {
    let shape = std::env::args().nth(1).unwrap_or_default();
    match shape.as_str() {
        "plain_ok" => plain_ok(),
        "plain_err" => return plain_err(),
        "plain_panic" => plain_panic(),
        "tokio_multi_outer" => tokio_multi_outer(),
        "tokio_current_inner" => tokio_current_inner(),
        "tokio_current_outer_panic" => tokio_current_outer_panic(),
        "config_from_map" => config_from_map(),
        "console_fallback" => console_fallback(),
        other => return Err(format!("unknown scenario {other:?}")),
    }
    Ok(())
}
