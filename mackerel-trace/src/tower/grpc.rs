//! A gRPC call seen from a tower layer: recognised by its `content-type`, its status read from
//! the response head (a trailers-only response, or an HTTP error) or from the trailers that end
//! the stream; its span ended with the stream, or as `CANCELLED` when dropped before its end.

use std::sync::atomic::{AtomicBool, Ordering};

use http::{HeaderMap, Request, Response};
use opentelemetry::trace::TraceContextExt as _;
use opentelemetry::{Context, ContextGuard};
use percent_encoding::percent_decode;

use crate::exception;
use crate::rpc_span::{self, Code, Side};

/// Whether `request` is a gRPC call: a POST with a gRPC `content-type`.
#[inline]
pub(super) fn is_grpc<B>(request: &Request<B>) -> bool {
    request.method() == http::Method::POST
        && request
            .headers()
            .get(http::header::CONTENT_TYPE)
            .is_some_and(|value| rpc_span::is_grpc(value.as_bytes()))
}

/// A gRPC call's span until its status is known and the response stream has ended.
#[derive(Debug)]
pub(super) struct GrpcCall {
    cx: Context,
    side: Side,
    /// Known from the response head: a trailers-only response, or an HTTP error.
    status: Option<(Code, Option<String>)>,
    /// The body said it has nothing more to send (read through `&self`, hence atomic).
    ended: AtomicBool,
}

impl GrpcCall {
    pub(super) fn new(cx: Context, side: Side) -> Self {
        GrpcCall {
            cx,
            side,
            status: None,
            ended: AtomicBool::new(false),
        }
    }

    /// On a server, makes the span current (until the guard drops) while the response body
    /// is polled: that is when a streaming handler produces its messages.
    pub(super) fn attach_on_server(&self) -> Option<ContextGuard> {
        (self.side == Side::Server).then(|| self.cx.clone().attach())
    }

    /// Reads the response head: a trailers-only response carries the status in its headers;
    /// a response that is not HTTP 200 and has none gets the code gRPC maps its status to.
    pub(super) fn head<B>(&mut self, response: &Response<B>) {
        if let Some(status) = status_of(response.headers()) {
            self.status = Some(status);
        } else if response.status() != http::StatusCode::OK {
            self.status = Some((Code::from_http_status(response.status()), None));
        }
    }

    /// The stream ended with `trailers`: their `grpc-status` (`UNKNOWN` when they have none).
    pub(super) fn trailers(mut self, trailers: &HeaderMap) {
        let status = status_of(trailers).or_else(|| self.status.take());
        self.end(status.unwrap_or((Code::Unknown, None)));
    }

    /// The stream ended without trailers: the status of the head, or else `UNKNOWN`.
    pub(super) fn end_of_stream(mut self) {
        let status = self.status.take().unwrap_or((Code::Unknown, None));
        self.end(status);
    }

    /// The body has nothing more to send, as it said before it was polled to its end.
    pub(super) fn stream_ended(&self) {
        self.ended.store(true, Ordering::Relaxed);
    }

    /// The response was dropped: the status of the head (a trailers-only response is whole
    /// with it); else `UNKNOWN` when its stream had ended, `CANCELLED` when it had not.
    pub(super) fn dropped(mut self) {
        let status = self.status.take().unwrap_or(if *self.ended.get_mut() {
            (Code::Unknown, None)
        } else {
            (Code::Cancelled, None)
        });
        self.end(status);
    }

    /// The call failed with an error before a status arrived (a transport error, a service or
    /// body error): `error.type` the error's type, an `exception` event, status `Error`.
    pub(super) fn failed(self, type_name: &'static str, message: String) {
        exception::record_exception(self.cx.span(), type_name, message);
        self.cx.span().end();
    }

    fn end(self, (code, message): (Code, Option<String>)) {
        rpc_span::record_status(&self.cx, self.side, code, message);
        self.cx.span().end();
    }
}

/// `grpc-status` and its `grpc-message` (percent-decoded), when `headers` carry a status.
fn status_of(headers: &HeaderMap) -> Option<(Code, Option<String>)> {
    let code = Code::from_header(headers.get("grpc-status")?.as_bytes());
    let message = headers.get("grpc-message").map(|value| {
        percent_decode(value.as_bytes())
            .decode_utf8_lossy()
            .into_owned()
    });
    Some((code, message))
}
