//! AWS Lambda (feature `lambda`, for `lambda_runtime` 1.x): one SERVER span per invocation,
//! and every span of the invocation exported before the runtime posts its response — a Lambda
//! environment may be frozen right after, for minutes or for good, so a batch timer cannot be
//! trusted to fire.
//!
//! Wrap the handler with [`Layer`] (tower's `ServiceBuilder`, which `lambda_runtime`
//! re-exports, does it in one line), and start the pipeline as any program does; nothing else
//! is needed.
//!
//! ```no_run
//! use lambda_runtime::tower::ServiceBuilder;
//! use lambda_runtime::{Error, LambdaEvent, Runtime};
//! use serde_json::{json, Value};
//!
//! #[mackerel_trace::traced]
//! async fn load_order(id: &str) -> Result<Value, Error> {
//!     Ok(json!({ "id": id }))
//! }
//!
//! async fn handler(event: LambdaEvent<Value>) -> Result<Value, Error> {
//!     let id = event.payload["pathParameters"]["id"].as_str().unwrap_or_default();
//!     let order = load_order(id).await?;
//!     Ok(json!({ "statusCode": 200, "body": order.to_string() }))
//! }
//!
//! #[mackerel_trace::main]
//! #[tokio::main]
//! async fn main() -> Result<(), Error> {
//!     let handler = ServiceBuilder::new()
//!         .layer(mackerel_trace::lambda::Layer::new())
//!         .service_fn(handler);
//!     Runtime::new(handler).run().await
//! }
//! ```
//!
//! **Why the handler and not `Runtime::layer`.** `Runtime::new(handler).layer(..)` wraps the
//! runtime's own service, whose future has already posted the response to the Runtime API when
//! it completes, and which turns the handler's `Err` into that response: a layer there sees
//! neither the handler's end nor its error. Around the handler, the layer ends the span when the
//! handler returns, exports, and only then gives the runtime the response to post.
//!
//! **The span.** Kind SERVER, with `faas.trigger`, `faas.invocation_id` (the request id),
//! `faas.coldstart` (true for the first invocation of the process only), and
//! `aws.lambda.invoked_arn` and `cloud.account.id` from the invoked ARN. For an HTTP event —
//! API Gateway REST APIs (payload 1.0), HTTP APIs and function URLs (payload 2.0), ALB — it
//! follows the rules of every server span of this crate (Mackerel's HTTP view lists it):
//! named `{method} {route}`, with `http.request.method`, `url.path`, `http.route` (the route
//! template that matched: the REST API's resource, the HTTP API's route key), `server.address`,
//! `user_agent.original` and `http.response.status_code` from the response's `statusCode`, and
//! the caller's `traceparent` as parent. Other events are named by the function, with
//! `faas.trigger` `pubsub` (SQS, SNS, Kinesis, Kafka, MQ), `datasource` (S3, DynamoDB),
//! `timer` (EventBridge schedules) or `other`. The event is read from its JSON, whatever the
//! handler's payload type. An `Err` sets status `Error`, `error.type` (the error's Lambda
//! `errorType`) and an `exception` event; so does a panic, which then goes on to the runtime as
//! without the layer.
//!
//! **The export.** When the handler is over, the layer hands every finished span to the export
//! thread and waits for its answer on tokio's blocking pool, never on a runtime worker (a
//! function with 1 vCPU runs one): a quick handler pays one export round trip. The wait, and
//! each request of that export, end at the invocation's deadline less 200 ms for the runtime to
//! post the response; an export cut short is reported on stderr (CloudWatch Logs), at most once
//! per 10 s, and the rest goes out when the environment runs again.
//!
//! **The resource.** On Lambda, `cloud.provider` (`aws`), `cloud.platform` (`aws_lambda`),
//! `cloud.region`, `faas.name`, `faas.version`, `faas.instance` (the log stream),
//! `faas.max_memory` (in bytes) and `aws.log.group.names` come from the variables Lambda sets,
//! and `service.name` defaults to the function's name (`OTEL_SERVICE_NAME`,
//! `#[main(service_name = ..)]` and [`Config::service_name`](crate::Config::service_name)
//! still win).
//!
//! The handler's response must be `Serialize` (a buffered response: `serde_json::Value`, an
//! `aws_lambda_events` response, a type of your own), since its `statusCode` is read from it.

mod event;
mod export;
mod future;
mod invocation;
mod payload;
mod resource;

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::task::{Context as TaskContext, Poll};

use lambda_runtime::{Diagnostic, LambdaEvent};
use opentelemetry::Context;
use serde::Serialize;

use event::Trigger;
pub use future::TracedFuture;
use future::{Outcome, Start};
pub use payload::Payload;
pub(crate) use resource::attributes as resource_attributes;

/// Traces every invocation of the handler it wraps as a SERVER span, and exports the spans of
/// each invocation before handing its response to the runtime (the [module docs](self) say
/// what the span carries and how the export is bounded).
///
/// ```
/// use lambda_runtime::tower::ServiceBuilder;
/// use lambda_runtime::{Error, LambdaEvent};
/// use serde_json::Value;
///
/// async fn echo(event: LambdaEvent<Value>) -> Result<Value, Error> {
///     Ok(event.payload)
/// }
///
/// // What `Runtime::new` takes.
/// let handler = ServiceBuilder::new()
///     .layer(mackerel_trace::lambda::Layer::new())
///     .service_fn(echo);
/// # drop(handler);
/// ```
#[derive(Clone, Copy, Debug, Default)]
#[must_use]
pub struct Layer {
    _private: (),
}

impl Layer {
    /// The layer.
    ///
    /// ```
    /// let layer = mackerel_trace::lambda::Layer::new();
    /// # drop(layer);
    /// ```
    pub fn new() -> Self {
        Layer::default()
    }
}

impl<S> tower_layer::Layer<S> for Layer {
    type Service = Traced<S>;

    fn layer(&self, inner: S) -> Traced<S> {
        Traced { inner }
    }
}

/// The handler [`Layer`] wraps: a `tower::Service` of `LambdaEvent<Payload<T>>` for a handler
/// of `LambdaEvent<T>`, which `Runtime::new` and `lambda_runtime::run` take.
///
/// ```
/// use lambda_runtime::{service_fn, Error, LambdaEvent};
/// use mackerel_trace::lambda::{Layer, Traced};
/// use tower_layer::Layer as _;
///
/// async fn handler(event: LambdaEvent<String>) -> Result<usize, Error> {
///     Ok(event.payload.len())
/// }
///
/// let traced = Layer::new().layer(service_fn(handler));
/// # let _: &Traced<_> = &traced;
/// ```
#[derive(Clone, Debug)]
pub struct Traced<S> {
    inner: S,
}

impl<S, T, R> tower_service::Service<LambdaEvent<Payload<T>>> for Traced<S>
where
    S: tower_service::Service<LambdaEvent<T>, Response = R>,
    S::Error: Into<Diagnostic>,
    R: Serialize,
{
    type Response = R;
    type Error = Diagnostic;
    type Future = TracedFuture<S::Future, R>;

    fn poll_ready(&mut self, task: &mut TaskContext<'_>) -> Poll<Result<(), Diagnostic>> {
        self.inner.poll_ready(task).map_err(Into::into)
    }

    fn call(&mut self, event: LambdaEvent<Payload<T>>) -> Self::Future {
        let LambdaEvent { payload, context } = event;
        let span = invocation::start(&context, &payload.trigger);
        let start = Start {
            cx: span.clone().unwrap_or_else(Context::current),
            span,
            http: match &payload.trigger {
                Trigger::Http(http) => Some(http.source),
                _ => None,
            },
            request_id: context.request_id.clone(),
            export_by: export::export_deadline(&context),
        };
        let value = match payload.value {
            Ok(value) => value,
            Err(error) => {
                let diagnostic = Diagnostic {
                    error_type: payload::PayloadError::ERROR_TYPE.to_owned(),
                    error_message: error.message,
                };
                return TracedFuture::finished(start, Outcome::Err(diagnostic));
            }
        };
        // The handler's future is created with the span current too.
        let called = {
            let _attached = start.cx.clone().attach();
            catch_unwind(AssertUnwindSafe(|| {
                self.inner.call(LambdaEvent::new(value, context))
            }))
        };
        match called {
            Ok(inner) => TracedFuture::handler(start, inner),
            Err(payload) => TracedFuture::finished(start, Outcome::Panic(payload)),
        }
    }
}
