//! The app under test: every route the tests call, with `Middleware` outermost.

use std::pin::Pin;
use std::rc::Rc;
use std::sync::Mutex;
use std::task::{Context as TaskContext, Poll};
use std::time::Duration;

use actix_web::body::{BodySize, MessageBody};
use actix_web::dev::{Service as _, ServiceFactory, ServiceRequest, ServiceResponse};
use actix_web::web::{self, Bytes};
use actix_web::{get, post, App, HttpRequest, HttpResponse};
use mackerel_trace::opentelemetry::baggage::BaggageExt as _;
use mackerel_trace::opentelemetry::trace::TraceContextExt as _;
use mackerel_trace::opentelemetry::Context;
use mackerel_trace::reqwest::RequestBuilderExt as _;
use mackerel_trace::traced;
use tokio::sync::mpsc;

#[traced]
fn authorize() {}

#[traced(record(order.id = id))]
fn load_order(id: u64) -> u64 {
    id * 10
}

#[traced]
async fn price(id: u64) -> u64 {
    actix_web::rt::time::sleep(Duration::from_millis(1)).await;
    id + 1
}

/// Holds an `Rc` across an await, as actix (single-threaded workers) allows; answers with the
/// id of the span current after that await.
async fn order(id: web::Path<u64>) -> String {
    let id = Rc::new(id.into_inner());
    let price = price(*id).await;
    let current = Context::current().span().span_context().span_id();
    format!("order {} at {price}, span {current}", load_order(*id))
}

// Overlapping patterns, told apart by method guards as `#[get]`/`#[post]` write them. Here the
// parameter pattern comes first: the router passes it over for a GET.
#[post("/items/{key}")]
async fn update_item() -> &'static str {
    "updated"
}

#[get("/items/recommend")]
async fn recommend_items() -> &'static str {
    "recommended"
}

// And the other way round: the literal pattern comes first, and a POST passes it over.
#[get("/things/recommend")]
async fn recommend_things() -> &'static str {
    "recommended"
}

#[post("/things/{key}")]
async fn update_thing() -> &'static str {
    "updated"
}

// Inside a scope: a DELETE is taken by no resource, only by the scope's default service.
#[get("/items/{key}")]
async fn api_item() -> &'static str {
    "item"
}

async fn baggage() -> String {
    Context::current()
        .baggage()
        .get("tenant")
        .map(|v| v.to_string())
        .unwrap_or_default()
}

async fn panics() -> &'static str {
    panic!("handler exploded")
}

#[traced]
fn check_database() -> &'static str {
    "ok"
}

/// A health check that checks a database and calls another service (this one), returning the
/// `traceparent` that service was sent.
async fn healthz(request: HttpRequest) -> String {
    assert_eq!(check_database(), "ok");
    let url = format!("http://{}/traceparent", request.connection_info().host());
    let response = reqwest::Client::new().get(url).send_traced().await.unwrap();
    response.text().await.unwrap()
}

async fn traceparent(request: HttpRequest) -> String {
    request
        .headers()
        .get("traceparent")
        .map(|value| value.to_str().unwrap().to_owned())
        .unwrap_or_default()
}

/// The receiving end of the streaming body, handed to the next `/stream` request.
pub type Gate = Mutex<Option<mpsc::UnboundedReceiver<Bytes>>>;

/// A body whose chunks the test sends, ending when the test drops its sender.
struct GatedBody(mpsc::UnboundedReceiver<Bytes>);

impl MessageBody for GatedBody {
    type Error = std::convert::Infallible;

    fn size(&self) -> BodySize {
        BodySize::Stream
    }

    fn poll_next(
        mut self: Pin<&mut Self>,
        task: &mut TaskContext<'_>,
    ) -> Poll<Option<Result<Bytes, Self::Error>>> {
        self.0.poll_recv(task).map(|chunk| chunk.map(Ok))
    }
}

async fn stream(gate: web::Data<Gate>) -> HttpResponse {
    let receiver = gate.lock().unwrap().take().expect("a gate for /stream");
    HttpResponse::Ok().body(GatedBody(receiver))
}

pub fn app(
    gate: web::Data<Gate>,
    middleware: mackerel_trace::actix::Middleware,
) -> App<
    impl ServiceFactory<
        ServiceRequest,
        Config = (),
        Response = ServiceResponse<impl MessageBody>,
        Error = actix_web::Error,
        InitError = (),
    >,
> {
    App::new()
        .app_data(gate)
        .route("/orders/{id}", web::get().to(order))
        .service(update_item)
        .service(recommend_items)
        .service(recommend_things)
        .service(update_thing)
        .service(web::scope("/api").service(api_item))
        .route(
            "/fail",
            web::get().to(|| async { HttpResponse::ServiceUnavailable().finish() }),
        )
        .route(
            "/bad",
            web::get().to(|| async { HttpResponse::BadRequest().finish() }),
        )
        .route("/baggage", web::get().to(baggage))
        .route("/panic", web::get().to(panics))
        .route("/stream", web::get().to(stream))
        .route("/healthz", web::get().to(healthz))
        .route(
            "/health/{probe}",
            web::get().to(|| async { check_database() }),
        )
        .route("/traceparent", web::get().to(traceparent))
        .service(
            // A middleware that fails instead of answering: actix sends the error's response.
            web::scope("/maintenance")
                .wrap_fn(|_request, _service| async {
                    Err::<ServiceResponse, _>(actix_web::error::ErrorServiceUnavailable(
                        "down for maintenance",
                    ))
                })
                .route("/orders", web::get().to(|| async { "never" })),
        )
        // A middleware inside ours: the span is current there too.
        .wrap_fn(|request, service| {
            authorize();
            service.call(request)
        })
        .wrap(middleware)
}
