//! A response body that ends its server span when it has been sent, fails, or is dropped.

use std::pin::Pin;
use std::task::{Context as TaskContext, Poll};

use http_body::{Body, Frame, SizeHint};
use opentelemetry::trace::TraceContextExt as _;
use opentelemetry::Context;

use crate::exception;

pin_project_lite::pin_project! {
    /// The response body [`ServerService`](super::ServerService) returns: the handler's body,
    /// unchanged, carrying the request's span until the last frame is sent (or the body is
    /// dropped), so streaming responses are timed whole.
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
        span: Option<Context>,
    }

    impl<B> PinnedDrop for TracedBody<B> {
        fn drop(this: Pin<&mut Self>) {
            if let Some(cx) = this.project().span.take() {
                cx.span().end();
            }
        }
    }
}

impl<B> TracedBody<B> {
    pub(super) fn new(inner: B, span: Option<Context>) -> Self {
        TracedBody { inner, span }
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
        let this = self.project();
        let polled = this.inner.poll_frame(task);
        match &polled {
            Poll::Ready(None) => {
                if let Some(cx) = this.span.take() {
                    cx.span().end();
                }
            }
            Poll::Ready(Some(Err(error))) => {
                if let Some(cx) = this.span.take() {
                    exception::record_exception(
                        cx.span(),
                        std::any::type_name::<B::Error>(),
                        error.to_string(),
                    );
                    cx.span().end();
                }
            }
            Poll::Ready(Some(Ok(_))) | Poll::Pending => {}
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}
