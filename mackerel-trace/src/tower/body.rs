//! A response body that ends its span when it has been sent (or received), fails, or is
//! dropped; for a gRPC call, with the status its trailers carry.

use std::pin::Pin;
use std::task::{Context as TaskContext, Poll};

use http_body::{Body, Frame, SizeHint};
use opentelemetry::trace::TraceContextExt as _;
use opentelemetry::Context;

use super::grpc::GrpcCall;
use crate::exception;

/// What a body ends when it ends (or, for an untraced call, keeps current while polled).
#[derive(Debug)]
enum Ending {
    /// An HTTP server span.
    Http(Context),
    /// A gRPC call's span, server or client: its status comes with the end of the stream.
    Grpc(GrpcCall),
    /// No span: an untraced gRPC call's unsampled context, current while its stream is
    /// polled, when a streaming handler does its work.
    Unsampled(Context),
}

pin_project_lite::pin_project! {
    /// The response body [`ServerService`](super::ServerService) and
    /// [`ClientService`](super::ClientService) return: the inner body, unchanged, carrying
    /// the request's span until the last frame has gone through (or the body is dropped), so
    /// streaming responses are timed whole and a gRPC call's status is read from its trailers.
    ///
    /// ```
    /// use http_body_util::BodyExt as _;
    /// use mackerel_trace::tower::TracedBody;
    ///
    /// # async fn read(body: TracedBody<http_body_util::Full<bytes::Bytes>>) {
    /// let bytes = body.collect().await.unwrap().to_bytes(); // the span ends here
    /// # }
    /// ```
    pub struct TracedBody<B> {
        #[pin]
        inner: B,
        ending: Option<Ending>,
    }

    impl<B> PinnedDrop for TracedBody<B> {
        fn drop(this: Pin<&mut Self>) {
            match this.project().ending.take() {
                Some(Ending::Http(cx)) => cx.span().end(),
                Some(Ending::Grpc(call)) => call.dropped(),
                Some(Ending::Unsampled(_)) | None => {}
            }
        }
    }
}

impl<B> TracedBody<B> {
    /// `inner`, ending `span` (an HTTP server span) with it; no span: `inner` as it is.
    pub(super) fn new(inner: B, span: Option<Context>) -> Self {
        TracedBody {
            inner,
            ending: span.map(Ending::Http),
        }
    }

    /// `inner` as it is: nothing to end.
    pub(super) fn plain(inner: B) -> Self {
        TracedBody {
            inner,
            ending: None,
        }
    }

    /// `inner`, with `cx` (an untraced gRPC call's unsampled context) current while it is
    /// polled.
    pub(super) fn unsampled(inner: B, cx: Context) -> Self {
        TracedBody {
            inner,
            ending: Some(Ending::Unsampled(cx)),
        }
    }

    /// `inner`, ending the gRPC `call` with it.
    pub(super) fn grpc(inner: B, call: GrpcCall) -> Self {
        TracedBody {
            inner,
            ending: Some(Ending::Grpc(call)),
        }
    }
}

impl<B: Body> Body for TracedBody<B>
where
    B::Error: std::fmt::Display,
{
    type Data = B::Data;
    type Error = B::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        task: &mut TaskContext<'_>,
    ) -> Poll<Option<Result<Frame<Self::Data>, Self::Error>>> {
        let mut this = self.project();
        // A streaming gRPC handler's work is done as its response is polled: in its span.
        let _attached = match this.ending {
            Some(Ending::Grpc(call)) => call.attach_on_server(),
            Some(Ending::Unsampled(cx)) => Some(cx.clone().attach()),
            _ => None,
        };
        let polled = this.inner.as_mut().poll_frame(task);
        match &polled {
            Poll::Ready(Some(Ok(frame))) => {
                if let Some(Ending::Grpc(_)) = this.ending {
                    // Trailers end a gRPC stream; so does a last data frame without them.
                    let trailers = frame.trailers_ref();
                    if trailers.is_some() || this.inner.is_end_stream() {
                        if let Some(Ending::Grpc(call)) = this.ending.take() {
                            match trailers {
                                Some(trailers) => call.trailers(trailers),
                                None => call.end_of_stream(),
                            }
                        }
                    }
                }
            }
            Poll::Ready(None) => match this.ending.take() {
                Some(Ending::Http(cx)) => cx.span().end(),
                Some(Ending::Grpc(call)) => call.end_of_stream(),
                Some(Ending::Unsampled(_)) | None => {}
            },
            Poll::Ready(Some(Err(error))) => match this.ending.take() {
                Some(Ending::Http(cx)) => {
                    exception::record_exception(
                        cx.span(),
                        std::any::type_name::<B::Error>(),
                        error.to_string(),
                    );
                    cx.span().end();
                }
                Some(Ending::Grpc(call)) => {
                    call.failed(std::any::type_name::<B::Error>(), error.to_string());
                }
                Some(Ending::Unsampled(_)) | None => {}
            },
            Poll::Pending => {}
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        let ended = self.inner.is_end_stream();
        if ended {
            // Asked before sending a body that has nothing to send (a trailers-only
            // response): dropping it then is the end of its stream, not a cancellation.
            if let Some(Ending::Grpc(call)) = &self.ending {
                call.stream_ended();
            }
        }
        ended
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}
