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

use super::body::TracedBody;
use super::grpc::{self, GrpcCall};
use crate::http_span::{self, ClientRequest};
use crate::rpc_span::{self, ClientCall, Side};
use crate::{exception, propagation};

/// Traces every request through the wrapped HTTP client as a CLIENT span, child of the current
/// span, and sends the span's context in the request's headers.
///
/// The span is named `{method}` and records `http.request.method`, `server.address`,
/// `server.port`, `url.full` (without userinfo, query values replaced by `REDACTED`) and
/// `http.response.status_code`. A status of 400 or more, or a transport error, sets status
/// `Error` and `error.type`; a transport error also adds an `exception` event. The span ends
/// when the response head arrives; the response's body is handed back as it came, in a
/// [`TracedBody`].
///
/// A gRPC call (a POST whose `content-type` is `application/grpc…`) gets the
/// [gRPC rules](super#grpc) instead: named `package.Service/Method`, its status read from the
/// trailers, `Error` for every code but `OK`, and the span ends with the response stream.
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
    type Response = Response<TracedBody<ResBody>>;
    type Error = S::Error;
    type Future = ClientFuture<S::Future>;

    fn poll_ready(&mut self, task: &mut TaskContext<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(task)
    }

    fn call(&mut self, mut request: Request<ReqBody>) -> Self::Future {
        let grpc = grpc::is_grpc(&request);
        let uri = request.uri();
        let span = if grpc {
            rpc_span::start_client(&ClientCall {
                path: uri.path(),
                scheme: uri.scheme_str(),
                host: uri.host(),
                port: uri.port_u16(),
            })
        } else {
            http_span::start_client(&ClientRequest {
                method: request.method(),
                scheme: uri.scheme_str().unwrap_or("http"),
                host: uri.host().unwrap_or_default(),
                port: uri.port_u16(),
                path: uri.path(),
                query: uri.query(),
            })
        };
        let cx = span.clone().unwrap_or_else(Context::current);
        propagation::inject_context(&cx, request.headers_mut());
        let inner = {
            let _attached = cx.clone().attach();
            self.inner.call(request)
        };
        ClientFuture {
            inner: inner.with_context(cx),
            span,
            grpc,
        }
    }
}

pin_project_lite::pin_project! {
    /// The future of [`ClientService`]: the client's, with the CLIENT span current.
    pub struct ClientFuture<F> {
        #[pin]
        inner: WithContext<F>,
        span: Option<Context>,
        // A gRPC call: its status comes at the end of the response stream.
        grpc: bool,
    }

    impl<F> PinnedDrop for ClientFuture<F> {
        fn drop(this: Pin<&mut Self>) {
            let this = this.project();
            // A gRPC call given up before its response came is cancelled.
            if *this.grpc {
                if let Some(cx) = this.span.take() {
                    GrpcCall::new(cx, Side::Client).dropped();
                }
            }
        }
    }
}

impl<F, B, E> Future for ClientFuture<F>
where
    F: Future<Output = Result<Response<B>, E>>,
    E: Error,
{
    type Output = Result<Response<TracedBody<B>>, E>;

    fn poll(self: Pin<&mut Self>, task: &mut TaskContext<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let Poll::Ready(result) = this.inner.poll(task) else {
            return Poll::Pending;
        };
        let Some(cx) = this.span.take() else {
            return Poll::Ready(result.map(|response| response.map(TracedBody::plain)));
        };
        match result {
            Ok(response) if *this.grpc => {
                let mut call = GrpcCall::new(cx, Side::Client);
                call.head(&response);
                Poll::Ready(Ok(response.map(|body| TracedBody::grpc(body, call))))
            }
            Ok(response) => {
                http_span::client_status(&cx, response.status());
                cx.span().end();
                Poll::Ready(Ok(response.map(TracedBody::plain)))
            }
            Err(error) => {
                exception::record_error_chain(cx.span(), std::any::type_name::<E>(), &error);
                cx.span().end();
                Poll::Ready(Err(error))
            }
        }
    }
}
