//! The middleware: one SERVER span per request, continuing the caller's trace, current while
//! the handler runs, named by the route the router took, ended when the response body has been
//! sent.

use std::future::{ready, Future, Ready};
use std::panic::{catch_unwind, resume_unwind, AssertUnwindSafe};
use std::pin::Pin;
use std::task::{Context as TaskContext, Poll};

use actix_web::body::MessageBody;
use actix_web::dev::{Service, ServiceRequest, ServiceResponse, Transform};
use actix_web::Error;
use opentelemetry::trace::TraceContextExt as _;
use opentelemetry::Context;

use super::body::TracedBody;
use super::request;
use crate::current::MirrorSlot;
use crate::untraced::{self, UntracedPaths};
use crate::{http_span, panic};

/// Traces every request to an actix-web 4 app (or scope, or resource) as a SERVER span.
///
/// The span is named `{method} {route}` (or `{method}` when no resource handled the request),
/// is a child of the context the request's `traceparent` carries, and records
/// `http.request.method`, `url.path`, `url.scheme`, `http.route` (the pattern of the resource
/// the router took, only when one did), `server.address`/`server.port`,
/// `user_agent.original`, `network.protocol.version` and `http.response.status_code`. A 5xx
/// sets status `Error` and `error.type`; a 4xx does not. The query string is never recorded.
///
/// The span is current while the handler (and every middleware inside this one) runs, on
/// every poll, so `#[traced]` functions and client calls there are its children. It ends
/// when the response body has been sent, or dropped. A handler that panics ends it with an
/// `exception` event, and the panic goes on unwinding. The route is read from the request
/// the response carries: a request that ends in a panic, or in an `Err` from a middleware
/// inside (whose status is that of the response actix makes of it), is named `{method}`.
/// Wrap it last, so that it is the outermost middleware and its span covers the others.
///
/// Health checks and readiness probes can be left untraced ([`untraced`](Self::untraced)).
///
/// ```
/// use actix_web::{web, App};
///
/// async fn order(id: web::Path<u64>) -> String {
///     format!("order {id}")
/// }
///
/// let app = App::new()
///     .route("/orders/{id}", web::get().to(order))
///     .wrap(mackerel_trace::actix::Middleware::new());
/// ```
#[derive(Clone, Debug, Default)]
#[must_use]
pub struct Middleware {
    untraced: UntracedPaths,
}

impl Middleware {
    /// The middleware: every request traced.
    pub fn new() -> Self {
        Middleware::default()
    }

    /// Leaves requests for `paths` untraced: health checks and readiness probes, which
    /// Mackerel's guide recommends dropping (a probe every few seconds is thousands of spans
    /// a day).
    ///
    /// A path is matched exactly against the request's path, byte for byte, without the
    /// query string (`/healthz` matches `/healthz?verbose`, not `/healthz/`); one that ends in
    /// `*` matches every path that starts with what comes before the `*` (`/health/*` matches
    /// `/health/live` and `/health/ready`, not `/health`). The path is the whole request path,
    /// whether the middleware wraps the app or a scope. Calling it again adds to the paths.
    ///
    /// An untraced request has no span, and its handler (and every middleware inside this
    /// one) runs in an unsampled context: a remote parent with new ids whose flags say "not
    /// sampled". With a parent-based sampler (the default, `parentbased_always_on`, and every
    /// `parentbased_*`), nothing it calls records a span: `#[traced]` functions, `tracing`
    /// spans, client calls. The requests it sends carry that parent in `traceparent` (flags
    /// `00`), so services that follow their caller's decision do not trace them either. A
    /// sampler that ignores the parent (`always_on`, `traceidratio`) samples spans below an
    /// untraced handler as it samples everything else, and they have a parent that is never
    /// exported.
    ///
    /// With no untraced paths (the default), the check costs one branch per request.
    ///
    /// # Panics
    ///
    /// When a path does not start with `/` (no request would ever match it), or has a `*`
    /// anywhere but at its end.
    ///
    /// ```
    /// use actix_web::{web, App, HttpResponse};
    ///
    /// let app = App::new()
    ///     .route("/healthz", web::get().to(HttpResponse::Ok))
    ///     .route("/health/{probe}", web::get().to(HttpResponse::Ok))
    ///     .wrap(mackerel_trace::actix::Middleware::new().untraced(["/healthz", "/health/*"]));
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
}

impl<S, B> Transform<S, ServiceRequest> for Middleware
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = Error>,
    B: MessageBody,
{
    type Response = ServiceResponse<TracedBody<B>>;
    type Error = Error;
    type Transform = MiddlewareService<S>;
    type InitError = ();
    type Future = Ready<Result<MiddlewareService<S>, ()>>;

    fn new_transform(&self, service: S) -> Self::Future {
        ready(Ok(MiddlewareService {
            service,
            untraced: self.untraced.clone(),
        }))
    }
}

/// The service [`Middleware`] wraps around yours.
///
/// ```
/// use actix_web::dev::{fn_service, Service as _, ServiceRequest, Transform as _};
/// use actix_web::{test, HttpResponse};
///
/// # actix_web::rt::System::new().block_on(async {
/// let handler = fn_service(|request: ServiceRequest| async {
///     Ok::<_, actix_web::Error>(request.into_response(HttpResponse::Ok().body("ok")))
/// });
/// // What `App::wrap` does with the middleware.
/// let service = mackerel_trace::actix::Middleware::new()
///     .new_transform(handler)
///     .await
///     .unwrap();
/// let request = test::TestRequest::get().uri("/orders/7").to_srv_request();
/// let response = service.call(request).await.unwrap();
/// assert!(response.status().is_success());
/// # });
/// ```
#[derive(Debug)]
pub struct MiddlewareService<S> {
    service: S,
    untraced: UntracedPaths,
}

impl<S, B> Service<ServiceRequest> for MiddlewareService<S>
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = Error>,
    B: MessageBody,
{
    type Response = ServiceResponse<TracedBody<B>>;
    type Error = Error;
    type Future = MiddlewareFuture<S::Future>;

    fn poll_ready(&self, task: &mut TaskContext<'_>) -> Poll<Result<(), Error>> {
        self.service.poll_ready(task)
    }

    fn call(&self, request: ServiceRequest) -> Self::Future {
        let untraced = self.untraced.contains(request.path());
        let span = if untraced {
            None
        } else {
            request::start(&request)
        };
        let cx = match &span {
            Some(cx) => cx.clone(),
            None if untraced => untraced::unsampled_context(),
            None => Context::current(),
        };
        // What the inner services do before their future is first polled (routing, a
        // middleware's synchronous part) runs with the span current too.
        let inner = {
            let _attached = cx.clone().attach();
            self.service.call(request)
        };
        MiddlewareFuture {
            inner,
            cx,
            span,
            untraced,
            mirror: MirrorSlot::default(),
        }
    }
}

pin_project_lite::pin_project! {
    /// The future of [`MiddlewareService`]: the inner service's, with the span current on
    /// every poll.
    ///
    /// ```
    /// use actix_web::dev::{Service, ServiceRequest, ServiceResponse};
    /// use mackerel_trace::actix::{MiddlewareFuture, MiddlewareService};
    ///
    /// // What `MiddlewareService::call` returns.
    /// fn call<S>(service: &MiddlewareService<S>, request: ServiceRequest) -> MiddlewareFuture<S::Future>
    /// where
    ///     S: Service<ServiceRequest, Response = ServiceResponse, Error = actix_web::Error>,
    /// {
    ///     service.call(request)
    /// }
    /// ```
    pub struct MiddlewareFuture<F> {
        #[pin]
        inner: F,
        // The span's context, an untraced request's unsampled one, or the one current at
        // `call` when no pipeline is installed.
        cx: Context,
        span: Option<Context>,
        // A path left untraced: `cx` is unsampled, and no span is started below it.
        untraced: bool,
        // The span shown to `tracing` too, so that what carries `tracing::Span::current()` to
        // another thread (sqlx's SQLite worker) carries the request's span.
        mirror: MirrorSlot,
    }
}

impl<F, B> Future for MiddlewareFuture<F>
where
    F: Future<Output = Result<ServiceResponse<B>, Error>>,
{
    type Output = Result<ServiceResponse<TracedBody<B>>, Error>;

    fn poll(self: Pin<&mut Self>, task: &mut TaskContext<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let inner = this.inner;
        let _attached = this.cx.clone().attach();
        let _mirror = if this.span.is_some() || *this.untraced {
            this.mirror.enter()
        } else {
            None
        };
        // actix-web does not catch a handler's panic: the worker drops the connection.
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
            Ok(response) => {
                if let Some(cx) = &span {
                    finish(cx, &response);
                }
                Ok(response.map_body(|_, body| TracedBody::new(body, span)))
            }
            Err(error) => {
                // actix answers with the error's response; the span ends here, as that
                // response's body is not this middleware's to wrap.
                if let Some(cx) = span {
                    if let Some(status) = request::status(error.error_response().status()) {
                        http_span::server_status(&cx, status);
                    }
                    cx.span().end();
                }
                Err(error)
            }
        })
    }
}

/// Records what the response tells: the route the router took, and the status.
fn finish<B>(cx: &Context, response: &ServiceResponse<B>) {
    if cx.span().is_recording() {
        let request = response.request();
        if let Some(route) = request::route(request) {
            if let Ok(method) = http::Method::from_bytes(request.method().as_str().as_bytes()) {
                http_span::server_route(cx, &method, route);
            }
        }
    }
    if let Some(status) = request::status(response.status()) {
        http_span::server_status(cx, status);
    }
}
