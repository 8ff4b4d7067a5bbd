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

fn main() -> Result<(), String> {
    let shape = std::env::args().nth(1).unwrap_or_default();
    match shape.as_str() {
        "plain_ok" => plain_ok(),
        "plain_err" => return plain_err(),
        "plain_panic" => plain_panic(),
        "tokio_multi_outer" => tokio_multi_outer(),
        "tokio_current_inner" => tokio_current_inner(),
        "tokio_current_outer_panic" => tokio_current_outer_panic(),
        other => return Err(format!("unknown scenario {other:?}")),
    }
    Ok(())
}
