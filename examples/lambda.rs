//! An AWS Lambda function behind API Gateway: each invocation is one SERVER span named by its
//! route (`GET /orders/{id}`), continuing the caller's trace, with the handler's `#[traced]`
//! spans below it — all exported before the response goes back to Lambda.
//!
//! Build and deploy it with cargo-lambda (`cargo lambda build --release --example lambda`,
//! then `cargo lambda deploy`), or as a plain release build for the Lambda target named
//! `bootstrap` (see the README's "AWS Lambda" section). On the function, set
//! `MACKEREL_APIKEY` (and `OTEL_SERVICE_NAME` to name the service something other than the
//! function).
//!
//! Off Lambda it waits for a Runtime API at `AWS_LAMBDA_RUNTIME_API`; `cargo lambda watch`
//! runs one locally, and `cargo lambda invoke --data-example apigw-request` sends an event.

use lambda_runtime::tower::ServiceBuilder;
use lambda_runtime::{Error, LambdaEvent, Runtime};
use mackerel_trace::traced;
use serde_json::{json, Value};

#[derive(Debug)]
struct NotFound(String);

impl std::fmt::Display for NotFound {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "no order {}", self.0)
    }
}

impl std::error::Error for NotFound {}

/// A DB CLIENT span, as Mackerel's DB view lists it.
#[traced(kind = client, record(db.system.name = "postgresql", db.query.text = "SELECT * FROM orders WHERE id = ?"))]
async fn load_order(id: &str) -> Result<Value, NotFound> {
    match id.parse::<u64>() {
        Ok(number) => Ok(json!({ "id": number, "items": 3 })),
        Err(_) => Err(NotFound(id.to_owned())),
    }
}

/// An API Gateway (HTTP API) event in, an HTTP response out: its `statusCode` is the span's
/// `http.response.status_code`.
async fn handler(event: LambdaEvent<Value>) -> Result<Value, Error> {
    let id = event.payload["pathParameters"]["id"]
        .as_str()
        .unwrap_or_default();
    Ok(match load_order(id).await {
        Ok(order) => json!({ "statusCode": 200, "body": order.to_string() }),
        Err(not_found) => json!({ "statusCode": 404, "body": not_found.to_string() }),
    })
}

#[mackerel_trace::main]
#[tokio::main]
async fn main() -> Result<(), Error> {
    let handler = ServiceBuilder::new()
        .layer(mackerel_trace::lambda::Layer::new())
        .service_fn(handler);
    Runtime::new(handler).run().await
}
