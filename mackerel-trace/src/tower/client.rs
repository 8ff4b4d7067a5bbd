//! The client layer: one CLIENT span per outgoing request, its context sent along in
//! `traceparent` (and `baggage`).

use std::error::Error;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context as TaskContext, Poll};

use http::{Request, Response};
use opentelemetry::context::{FutureExt as _, WithContext};
use opentelemetry::trace::TraceContextExt as _;
use opentelemetry::Context;

use crate::http_span::{self, ClientRequest};
use crate::{exception, propagation};

/// Traces every request through the wrapped HTTP client as a CLIENT span, child of the current
/// span, and sends the span's context in the request's headers.
///
/// The span is named `{method}` and records `http.request.method`, `server.address`,
/// `server.port`, `url.full` (without userinfo, query values replaced by `REDACTED`) and
/// `http.response.status_code`. A status of 400 or more, or a transport error, sets status
/// `Error` and `error.type`; a transport error also adds an `exception` event. The span ends
/// when the response head arrives.
///
/// ```
/// use mackerel_trace::tower::{ClientLayer, ClientService};
/// use tower_layer::Layer as _;
///
/// fn traced<C>(client: C) -> ClientService<C> {
///     ClientLayer::new().layer(client)
/// }
/// ```
#[derive(Clone, Copy, Debug, Default)]
#[must_use]
pub struct ClientLayer {
    _private: (),
}

impl ClientLayer {
    /// The layer.
    pub fn new() -> Self {
        ClientLayer::default()
    }
}

impl<S> tower_layer::Layer<S> for ClientLayer {
    type Service = ClientService<S>;

    fn layer(&self, inner: S) -> ClientService<S> {
        ClientService { inner }
    }
}

/// The service [`ClientLayer`] wraps around an HTTP client.
#[derive(Clone, Debug)]
pub struct ClientService<S> {
    inner: S,
}

impl<S, ReqBody, ResBody> tower_service::Service<Request<ReqBody>> for ClientService<S>
where
    S: tower_service::Service<Request<ReqBody>, Response = Response<ResBody>>,
    S::Error: Error,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = ClientFuture<S::Future>;

    fn poll_ready(&mut self, task: &mut TaskContext<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(task)
    }

    fn call(&mut self, mut request: Request<ReqBody>) -> Self::Future {
        let uri = request.uri();
        let span = http_span::start_client(&ClientRequest {
            method: request.method(),
            scheme: uri.scheme_str().unwrap_or("http"),
            host: uri.host().unwrap_or_default(),
            port: uri.port_u16(),
            path: uri.path(),
            query: uri.query(),
        });
        let cx = span.clone().unwrap_or_else(Context::current);
        propagation::inject_context(&cx, request.headers_mut());
        let inner = {
            let _attached = cx.clone().attach();
            self.inner.call(request)
        };
        ClientFuture {
            inner: inner.with_context(cx),
            span,
        }
    }
}

pin_project_lite::pin_project! {
    /// The future of [`ClientService`]: the client's, with the CLIENT span current.
    pub struct ClientFuture<F> {
        #[pin]
        inner: WithContext<F>,
        span: Option<Context>,
    }
}

impl<F, B, E> Future for ClientFuture<F>
where
    F: Future<Output = Result<Response<B>, E>>,
    E: Error,
{
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, task: &mut TaskContext<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let Poll::Ready(result) = this.inner.poll(task) else {
            return Poll::Pending;
        };
        if let Some(cx) = this.span.take() {
            match &result {
                Ok(response) => http_span::client_status(&cx, response.status()),
                Err(error) => {
                    exception::record_error_chain(cx.span(), std::any::type_name::<E>(), error);
                }
            }
            cx.span().end();
        }
        Poll::Ready(result)
    }
}
