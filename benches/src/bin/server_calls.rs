//! `server_calls <variant> <n>`: `n` requests through `tower::ServerLayer` (or, for the
//! `client_*` variants, `tower::ClientLayer`) around a service that answers at once, called
//! directly (no sockets), inside [`run_loop`] for callgrind
//! (`valgrind --tool=callgrind --toggle-collect='*run_loop*'`). Variants: `bare` (the service
//! alone), `layer_sdk` (the layer into an SDK provider of the user's: the SDK path), `layer`
//! (the layer under `init()`, exporting to a local receiver: the fast path); `client_bare`,
//! `client_layer_sdk` and `client_layer` the same for the client side (an outgoing request
//! with a query, its `traceparent` injected, the span ended as the response's body drops).

use std::convert::Infallible;
use std::future::Future;
use std::hint::black_box;
use std::pin::pin;
use std::process::ExitCode;
use std::task::{Context, Poll, Waker};

use mackerel_trace::tower::{ClientLayer, ServerLayer};
use tower_layer::Layer as _;
use tower_service::Service;

const TRACEPARENT: &str = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

fn request() -> http::Request<()> {
    http::Request::get("/orders/7")
        .header("traceparent", TRACEPARENT)
        .header("host", "shop.example:8080")
        .header("user-agent", "bench/1.0")
        .body(())
        .expect("a request")
}

/// Answers every request with an empty 200 at once.
#[derive(Clone)]
struct Answer;

impl Service<http::Request<()>> for Answer {
    type Response = http::Response<String>;
    type Error = Infallible;
    type Future = std::future::Ready<Result<Self::Response, Infallible>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, _: http::Request<()>) -> Self::Future {
        std::future::ready(Ok(http::Response::new(String::new())))
    }
}

/// An outgoing request as a client sends it: absolute URI, no `traceparent` yet.
fn client_request() -> http::Request<()> {
    http::Request::get("http://shop.example:8080/orders/7?expand=items")
        .body(())
        .expect("a request")
}

/// Traced requests under `init()` (the fast path), exporting to a local receiver.
fn with_pipeline(f: impl FnOnce()) {
    let receiver = mackerel_trace::testing::Receiver::start();
    let endpoint = receiver.endpoint();
    let queue = mackerel_trace_benches::QUEUE_SIZE.to_string();
    let guard = mackerel_trace::Config::new()
        .with_env_vars([
            ("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", endpoint.as_str()),
            ("OTEL_BSP_MAX_QUEUE_SIZE", queue.as_str()),
            ("OTEL_BSP_MAX_EXPORT_BATCH_SIZE", "4096"),
        ])
        .init()
        .expect("the pipeline");
    f();
    drop(guard);
}

/// Traced requests into an SDK provider of the user's (the SDK path).
fn with_sdk_provider(f: impl FnOnce()) {
    let provider = mackerel_trace_benches::discarding_provider();
    mackerel_trace::set_tracer_provider(provider.clone());
    f();
    let _ = provider.shutdown();
}

#[inline(never)]
fn run_loop<S>(service: &mut S, n: u64, request: fn() -> http::Request<()>)
where
    S: Service<http::Request<()>>,
{
    let mut task = Context::from_waker(Waker::noop());
    for _ in 0..n {
        let future = pin!(service.call(request()));
        match future.poll(&mut task) {
            Poll::Ready(response) => drop(black_box(response.ok())),
            Poll::Pending => unreachable!("the service answers at once"),
        }
    }
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [variant, n] = args.as_slice() else {
        eprintln!(
            "usage: server_calls bare|layer_sdk|layer|client_bare|client_layer_sdk|client_layer <n>"
        );
        return ExitCode::FAILURE;
    };
    let Ok(n) = n.parse::<u64>() else {
        eprintln!("server_calls: {n:?} is not a number");
        return ExitCode::FAILURE;
    };
    match variant.as_str() {
        "bare" => run_loop(&mut Answer, n, request),
        "layer_sdk" => with_sdk_provider(|| {
            run_loop(&mut ServerLayer::new().layer(Answer), n, request);
        }),
        "layer" => with_pipeline(|| run_loop(&mut ServerLayer::new().layer(Answer), n, request)),
        "client_bare" => run_loop(&mut Answer, n, client_request),
        "client_layer_sdk" => with_sdk_provider(|| {
            run_loop(&mut ClientLayer::new().layer(Answer), n, client_request);
        }),
        "client_layer" => with_pipeline(|| {
            run_loop(&mut ClientLayer::new().layer(Answer), n, client_request);
        }),
        other => {
            eprintln!("server_calls: unknown variant {other:?}");
            return ExitCode::FAILURE;
        }
    }
    ExitCode::SUCCESS
}
