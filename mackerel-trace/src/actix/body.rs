//! A response body that ends its server span when it has been sent, fails, or is dropped.

use std::error::Error as StdError;
use std::pin::Pin;
use std::task::{Context as TaskContext, Poll};

use actix_web::body::{BodySize, MessageBody};
use actix_web::web::Bytes;
use opentelemetry::trace::TraceContextExt as _;
use opentelemetry::Context;

use crate::exception;

pin_project_lite::pin_project! {
    /// The response body [`MiddlewareService`](super::MiddlewareService) returns: the
    /// handler's body, unchanged, carrying the request's span until its last chunk has been
    /// sent (or the body is dropped), so streaming responses are timed whole.
    ///
    /// ```
    /// use actix_web::body::MessageBody;
    /// use mackerel_trace::actix::TracedBody;
    ///
    /// // What the middleware's response holds; actix sends it like any other body.
    /// fn sendable<B: MessageBody>(body: TracedBody<B>) -> impl MessageBody {
    ///     body
    /// }
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

impl<B: MessageBody> MessageBody for TracedBody<B> {
    // Boxed, so that its message can be read for the span without consuming it; the boxing
    // happens only when the body fails.
    type Error = Box<dyn StdError>;

    fn size(&self) -> BodySize {
        self.inner.size()
    }

    fn poll_next(
        self: Pin<&mut Self>,
        task: &mut TaskContext<'_>,
    ) -> Poll<Option<Result<Bytes, Self::Error>>> {
        let this = self.project();
        match this.inner.poll_next(task) {
            Poll::Ready(Some(Ok(chunk))) => Poll::Ready(Some(Ok(chunk))),
            Poll::Pending => Poll::Pending,
            Poll::Ready(None) => {
                if let Some(cx) = this.span.take() {
                    cx.span().end();
                }
                Poll::Ready(None)
            }
            Poll::Ready(Some(Err(error))) => {
                let error: Box<dyn StdError> = error.into();
                if let Some(cx) = this.span.take() {
                    exception::record_exception(
                        cx.span(),
                        std::any::type_name::<B::Error>(),
                        error.to_string(),
                    );
                    cx.span().end();
                }
                Poll::Ready(Some(Err(error)))
            }
        }
    }
}
