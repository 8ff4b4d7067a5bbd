//! The server layer: one SERVER span per request, continuing the caller's trace, current while
//! the handler runs, ended when the response body has been sent.

use std::fmt::Display;
use std::future::Future;
use std::panic::{catch_unwind, resume_unwind, AssertUnwindSafe};
use std::pin::Pin;
use std::task::{Context as TaskContext, Poll};

use http::{Request, Response};
use opentelemetry::trace::TraceContextExt as _;
use opentelemetry::Context;

use super::body::TracedBody;
use super::grpc::{self, GrpcCall};
use crate::current::MirrorSlot;
use crate::http_span::{self, ServerRequest};
use crate::rpc_span::{self, Side};
use crate::{exception, panic, propagation};

/// Traces every request to the wrapped service as a SERVER span (the [module docs](super)
/// show where to add it).
///
/// The span is named `{method} {route}` (or `{method}` when no route matched), is a child of
/// the context the request's `traceparent` carries, and records `http.request.method`,
/// `url.path`, `url.scheme` (when known), `http.route` (only a matched route),
/// `server.address`/`server.port`, `user_agent.original`, `network.protocol.version` and
/// `http.response.status_code`. A 5xx sets status `Error` and `error.type`; a 4xx does not.
/// The query string is never recorded. A handler that panics ends the span with an
/// `exception` event, and the panic goes on unwinding.
///
/// A gRPC call (a POST whose `content-type` is `application/grpc…`) gets the
/// [gRPC rules](super#grpc) instead: named `package.Service/Method`, its status read from the
/// trailers, an `Error` only for the codes that are the server's fault, and the HTTP
/// attributes above with `http.route` = `/package.Service/Method`, so that Mackerel's HTTP
/// view lists each method.
///
/// ```
/// use mackerel_trace::tower::{ServerLayer, ServerService};
/// use tower_layer::Layer as _;
///
/// fn traced<S>(service: S) -> ServerService<S> {
///     ServerLayer::new().layer(service)
/// }
/// ```
#[derive(Clone, Copy, Debug, Default)]
#[must_use]
pub struct ServerLayer {
    _private: (),
}

impl ServerLayer {
    /// The layer.
    pub fn new() -> Self {
        ServerLayer::default()
    }
}

impl<S> tower_layer::Layer<S> for ServerLayer {
    type Service = ServerService<S>;

    fn layer(&self, inner: S) -> ServerService<S> {
        // Panic messages are captured from the payload; no hook needed here.
        ServerService { inner }
    }
}

/// The service [`ServerLayer`] wraps around yours.
#[derive(Clone, Debug)]
pub struct ServerService<S> {
    inner: S,
}

impl<S, ReqBody, ResBody> tower_service::Service<Request<ReqBody>> for ServerService<S>
where
    S: tower_service::Service<Request<ReqBody>, Response = Response<ResBody>>,
    S::Error: Display,
{
    type Response = Response<TracedBody<ResBody>>;
    type Error = S::Error;
    type Future = ServerFuture<S::Future>;

    fn poll_ready(&mut self, task: &mut TaskContext<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(task)
    }

    fn call(&mut self, request: Request<ReqBody>) -> Self::Future {
        let grpc = grpc::is_grpc(&request);
        let span = start(&request, grpc);
        let cx = span.clone().unwrap_or_else(Context::current);
        // The handler's future is created with the span current too (axum builds it here).
        let inner = {
            let _attached = cx.clone().attach();
            self.inner.call(request)
        };
        ServerFuture {
            inner,
            cx,
            span,
            grpc,
            mirror: MirrorSlot::default(),
        }
    }
}

fn start<B>(request: &Request<B>, grpc: bool) -> Option<Context> {
    let headers = request.headers();
    let text = |name: http::header::HeaderName| headers.get(name).and_then(|v| v.to_str().ok());
    let uri = request.uri();
    let host = uri
        .authority()
        .map(http::uri::Authority::as_str)
        .or_else(|| text(http::header::HOST));
    let server_request = ServerRequest {
        method: request.method(),
        route: route(request),
        path: uri.path(),
        scheme: uri.scheme_str(),
        host,
        user_agent: text(http::header::USER_AGENT),
        version: request.version(),
    };
    let parent = propagation::extract(headers);
    if grpc {
        rpc_span::start_server(&server_request, &parent)
    } else {
        http_span::start_server(&server_request, &parent)
    }
}

#[cfg(feature = "axum")]
fn route<B>(request: &Request<B>) -> Option<&str> {
    request
        .extensions()
        .get::<axum::extract::MatchedPath>()
        .map(axum::extract::MatchedPath::as_str)
}

#[cfg(not(feature = "axum"))]
fn route<B>(_request: &Request<B>) -> Option<&str> {
    None
}

pin_project_lite::pin_project! {
    /// The future of [`ServerService`]: the handler's, with the span current on every poll.
    pub struct ServerFuture<F> {
        #[pin]
        inner: F,
        // The span's context, or the one current at `call` when no pipeline is installed.
        cx: Context,
        span: Option<Context>,
        // A gRPC call: its status comes at the end of the response stream.
        grpc: bool,
        // The span shown to `tracing` too, so that what carries `tracing::Span::current()`
        // to another thread (sqlx's SQLite worker) carries the request's span.
        mirror: MirrorSlot,
    }

    impl<F> PinnedDrop for ServerFuture<F> {
        fn drop(this: Pin<&mut Self>) {
            let this = this.project();
            // A gRPC call dropped before its response (the client went away) is cancelled.
            if *this.grpc {
                if let Some(cx) = this.span.take() {
                    GrpcCall::new(cx, Side::Server).dropped();
                }
            }
        }
    }
}

impl<F, B, E> Future for ServerFuture<F>
where
    F: Future<Output = Result<Response<B>, E>>,
    E: Display,
{
    type Output = Result<Response<TracedBody<B>>, E>;

    fn poll(self: Pin<&mut Self>, task: &mut TaskContext<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let inner = this.inner;
        let _attached = this.cx.clone().attach();
        let _mirror = if this.span.is_some() {
            this.mirror.enter()
        } else {
            None
        };
        let polled = match catch_unwind(AssertUnwindSafe(|| inner.poll(task))) {
            Ok(polled) => polled,
            Err(payload) => {
                if let Some(cx) = this.span.take() {
                    panic::record_panic_payload(&cx.span(), &*payload);
                    cx.span().end();
                }
                resume_unwind(payload)
            }
        };
        let Poll::Ready(result) = polled else {
            return Poll::Pending;
        };
        let span = this.span.take();
        Poll::Ready(match result {
            Ok(response) => match span {
                Some(cx) if *this.grpc => {
                    // As sent (200 for every gRPC response but an HTTP error).
                    cx.span()
                        .set_attribute(http_span::status_code_attribute(response.status()));
                    let mut call = GrpcCall::new(cx, Side::Server);
                    call.head(&response);
                    Ok(response.map(|body| TracedBody::grpc(body, call)))
                }
                span => {
                    if let Some(cx) = &span {
                        http_span::server_status(cx, response.status());
                    }
                    Ok(response.map(|body| TracedBody::new(body, span)))
                }
            },
            Err(error) => {
                if let Some(cx) = span {
                    exception::record_exception(
                        cx.span(),
                        std::any::type_name::<E>(),
                        error.to_string(),
                    );
                    cx.span().end();
                }
                Err(error)
            }
        })
    }
}
