//! The Lambda function the tests run, in a child process (this test binary, run again with
//! `FUNCTION_FLAVOR` set): `mackerel_trace::init()`, a tokio runtime with one worker thread
//! (or the current-thread runtime), and the real `lambda_runtime` polling the stand-in.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use lambda_runtime::tower::ServiceBuilder;
use lambda_runtime::{Error, LambdaEvent, Runtime};
use mackerel_trace::traced;
use serde::Deserialize;
use serde_json::{json, Value};

/// Set in the child: `multi_thread` (one worker, as on a 1-vCPU function) or `current_thread`.
pub const FLAVOR: &str = "FUNCTION_FLAVOR";

/// Microseconds since the epoch: when the handler returned, for the test to time the export.
fn now_us() -> u128 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_micros()
}

#[traced(record(n))]
async fn work(n: i64) -> i64 {
    tokio::task::yield_now().await;
    // A spawned task stays a child of the invocation's span.
    let spawned = tokio::spawn(double(n));
    spawned.await.unwrap_or_default()
}

#[traced]
async fn double(n: i64) -> i64 {
    n * 2
}

#[traced]
fn find_order(id: &str) -> Result<Value, std::io::Error> {
    Err(std::io::Error::other(format!("order {id} not found")))
}

/// The events the tests send: HTTP ones (with a path) and plain ones.
#[derive(Deserialize)]
pub struct Request {
    #[serde(rename = "rawPath", alias = "path")]
    path: Option<String>,
    action: Option<String>,
    n: Option<i64>,
    /// The status an HTTP event is answered with.
    answer: Option<u16>,
    sleep_ms: Option<u64>,
}

pub async fn handler(event: LambdaEvent<Request>) -> Result<Value, Error> {
    let request = event.payload;
    if let Some(ms) = request.sleep_ms {
        tokio::time::sleep(Duration::from_millis(ms)).await;
    }
    if let Some(path) = request.path {
        let doubled = work(request.n.unwrap_or(1)).await;
        return Ok(json!({
            "statusCode": request.answer.unwrap_or(200),
            "body": format!("{path} {doubled}"),
            "returned_at_us": now_us().to_string(),
        }));
    }
    match request.action.as_deref() {
        Some("fail") => Ok(find_order("42")?),
        Some("panic") => panic!("handler panicked on purpose"),
        _ => {
            let doubled = work(request.n.unwrap_or(0)).await;
            Ok(json!({ "doubled": doubled, "returned_at_us": now_us().to_string() }))
        }
    }
}

/// The child's body: runs the function until the test kills the process.
pub fn run(flavor: &str) {
    let _guard = mackerel_trace::init().expect("the pipeline starts");
    let runtime = match flavor {
        "current_thread" => tokio::runtime::Builder::new_current_thread(),
        _ => {
            let mut builder = tokio::runtime::Builder::new_multi_thread();
            builder.worker_threads(1);
            builder
        }
    }
    .enable_all()
    .build()
    .expect("a tokio runtime");
    let result = runtime.block_on(async {
        let handler = ServiceBuilder::new()
            .layer(mackerel_trace::lambda::Layer::new())
            .service_fn(handler);
        Runtime::new(handler).run().await
    });
    eprintln!("the runtime stopped: {result:?}");
}
