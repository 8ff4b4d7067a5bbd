//! The server layer: one SERVER span per request, continuing the caller's trace, current while
//! the handler runs, ended when the response body has been sent.

use std::borrow::Cow;
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
use super::route::{self, RouteFn};
use crate::current::MirrorSlot;
use crate::http_span::{self, ServerRequest};
use crate::rpc_span::{self, Side};
use crate::untraced::{self, UntracedPaths};
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
/// Health checks and readiness probes can be left untraced ([`untraced`](Self::untraced)),
/// and a server with no route templates of its own can name its routes
/// ([`route_with`](Self::route_with)).
///
/// ```
/// use mackerel_trace::tower::{ServerLayer, ServerService};
/// use tower_layer::Layer as _;
///
/// fn traced<S>(service: S) -> ServerService<S> {
///     ServerLayer::new().untraced(["/healthz", "/readyz"]).layer(service)
/// }
/// ```
#[derive(Clone, Debug, Default)]
#[must_use]
pub struct ServerLayer {
    untraced: UntracedPaths,
    route: Option<RouteFn>,
}

impl ServerLayer {
    /// The layer: every request traced, routes from axum's `MatchedPath` (feature `axum`).
    pub fn new() -> Self {
        ServerLayer::default()
    }

    /// Leaves requests for `paths` untraced: health checks and readiness probes, which
    /// Mackerel's guide recommends dropping (a probe every few seconds is thousands of spans
    /// a day).
    ///
    /// A path is matched exactly against the request's path, byte for byte, without the
    /// query string (`/healthz` matches `/healthz?verbose`, not `/healthz/`); one that ends in
    /// `*` matches every path that starts with what comes before the `*` (`/health/*` matches
    /// `/health/live` and `/health/ready`, not `/health`). gRPC calls are matched by their
    /// path too: `/grpc.health.v1.Health/*` leaves the standard health service untraced.
    /// Calling it again adds to the paths.
    ///
    /// An untraced request has no span, and its handler runs in an unsampled context: a
    /// remote parent with new ids whose flags say "not sampled". With a parent-based sampler
    /// (the default, `parentbased_always_on`, and every `parentbased_*`), nothing the handler
    /// calls records a span: `#[traced]` functions, `tracing` spans, client calls. The
    /// requests it sends carry that parent in `traceparent` (flags `00`), so services that
    /// follow their caller's decision do not trace them either. A sampler that ignores the
    /// parent (`always_on`, `traceidratio`) samples spans below an untraced handler as it
    /// samples everything else, and they have a parent that is never exported.
    ///
    /// With no untraced paths (the default), the check costs one branch per request.
    ///
    /// # Panics
    ///
    /// When a path does not start with `/` (no request would ever match it), or has a `*`
    /// anywhere but at its end.
    ///
    /// ```
    /// use mackerel_trace::tower::ServerLayer;
    ///
    /// let layer = ServerLayer::new()
    ///     .untraced(["/healthz", "/readyz"])
    ///     .untraced(["/grpc.health.v1.Health/*"]);
    /// ```
    #[track_caller]
    pub fn untraced<I>(mut self, paths: I) -> Self
    where
        I: IntoIterator,
        I::Item: Into<String>,
    {
        self.untraced.add(paths);
        self
    }

    /// Names each request's route with `route`, for servers with no route templates of their
    /// own (hyper, warp, a `match` on the path): the route it returns is the span's
    /// `http.route`, and the span is named `{method} {route}`. `None` is no route: the span is
    /// named `{method}` and listed by its path.
    ///
    /// Return a template (`/users/{id}`), not the path itself: Mackerel's HTTP view lists
    /// each route as one line, and a path with ids in it makes a line per id. The function
    /// sees the request's head (method, URI, headers, extensions) before the service does.
    /// A route the server knows itself (axum's `MatchedPath`) comes first: the function is
    /// asked only when there is none. gRPC calls are named by their method, and never asked.
    ///
    /// ```
    /// use mackerel_trace::tower::ServerLayer;
    ///
    /// let layer = ServerLayer::new().route_with(|request| {
    ///     let path = request.uri.path();
    ///     match path.strip_prefix("/users/") {
    ///         Some(id) if !id.is_empty() && !id.contains('/') => Some("/users/{id}"),
    ///         _ if path == "/" => Some("/"),
    ///         _ => None,
    ///     }
    /// });
    /// ```
    pub fn route_with<F, R>(mut self, route: F) -> Self
    where
        F: Fn(&http::request::Parts) -> Option<R> + Send + Sync + 'static,
        R: Into<Cow<'static, str>>,
    {
        self.route = Some(RouteFn::new(route));
        self
    }
}

impl<S> tower_layer::Layer<S> for ServerLayer {
    type Service = ServerService<S>;

    fn layer(&self, inner: S) -> ServerService<S> {
        // Panic messages are captured from the payload; no hook needed here.
        ServerService {
            inner,
            untraced: self.untraced.clone(),
            route: self.route.clone(),
        }
    }
}

/// The service [`ServerLayer`] wraps around yours.
#[derive(Clone, Debug)]
pub struct ServerService<S> {
    inner: S,
    untraced: UntracedPaths,
    route: Option<RouteFn>,
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

    fn call(&mut self, mut request: Request<ReqBody>) -> Self::Future {
        let grpc = grpc::is_grpc(&request);
        if self.untraced.contains(request.uri().path()) {
            return self.call_untraced(request, grpc);
        }
        // The request is moved (copied) only when the route function is lent its head.
        let named = match &self.route {
            Some(route) if !grpc && route::matched(&request).is_none() => {
                let named;
                (request, named) = route.name(request);
                named
            }
            _ => None,
        };
        let span = start(&request, grpc, named.as_deref());
        let cx = span.clone().unwrap_or_else(Context::current);
        self.call_inner(request, cx, span, grpc, false)
    }
}

impl<S> ServerService<S> {
    /// Calls the inner service in an unsampled context, with no span.
    #[cold]
    #[inline(never)]
    fn call_untraced<ReqBody>(
        &mut self,
        request: Request<ReqBody>,
        grpc: bool,
    ) -> ServerFuture<S::Future>
    where
        S: tower_service::Service<Request<ReqBody>>,
    {
        self.call_inner(request, untraced::unsampled_context(), None, grpc, true)
    }

    /// Calls the inner service with `cx` current, and returns its future carrying `cx`.
    #[inline(always)]
    fn call_inner<ReqBody>(
        &mut self,
        request: Request<ReqBody>,
        cx: Context,
        span: Option<Context>,
        grpc: bool,
        untraced: bool,
    ) -> ServerFuture<S::Future>
    where
        S: tower_service::Service<Request<ReqBody>>,
    {
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
            untraced,
            mirror: MirrorSlot::default(),
        }
    }
}

/// The span of `request`; `named` is the route the layer's function named, if it did.
fn start<B>(request: &Request<B>, grpc: bool, named: Option<&str>) -> Option<Context> {
    let headers = request.headers();
    let text = |name: http::header::HeaderName| headers.get(name).and_then(|v| v.to_str().ok());
    let uri = request.uri();
    let host = uri
        .authority()
        .map(http::uri::Authority::as_str)
        .or_else(|| text(http::header::HOST));
    let server_request = ServerRequest {
        method: request.method(),
        route: route::matched(request).or(named),
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

pin_project_lite::pin_project! {
    /// The future of [`ServerService`]: the handler's, with the span current on every poll.
    pub struct ServerFuture<F> {
        #[pin]
        inner: F,
        // The span's context, an untraced request's unsampled one, or the one current at
        // `call` when no pipeline is installed.
        cx: Context,
        span: Option<Context>,
        // A gRPC call: its status comes at the end of the response stream.
        grpc: bool,
        // A path left untraced: `cx` is unsampled, and no span is started below it.
        untraced: bool,
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
        let _mirror = if this.span.is_some() || *this.untraced {
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
                // A streaming handler's work goes on as its stream is polled: unsampled too.
                None if *this.untraced && *this.grpc => {
                    let cx = this.cx.clone();
                    Ok(response.map(|body| TracedBody::unsampled(body, cx)))
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
