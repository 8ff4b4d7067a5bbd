//! [`TracedFuture`]: the handler's future with the invocation's span current on every poll,
//! then — once the handler has returned, failed or panicked and the span has ended — the
//! export of every span finished so far, and only then the handler's outcome.

use std::any::Any;
use std::future::Future;
use std::panic::{catch_unwind, resume_unwind, AssertUnwindSafe};
use std::pin::Pin;
use std::task::{Context as TaskContext, Poll};

use lambda_runtime::Diagnostic;
use opentelemetry::trace::TraceContextExt as _;
use opentelemetry::Context;
use serde::Serialize;

use super::event::HttpSource;
use super::export::Export;
use super::invocation;
use crate::current::MirrorSlot;
use crate::{exception, panic};

/// What the handler came to, handed on once the export is over.
pub(super) enum Outcome<R> {
    Ok(R),
    Err(Diagnostic),
    Panic(Box<dyn Any + Send>),
}

pin_project_lite::pin_project! {
    #[project = StageProj]
    enum Stage<F, R> {
        Handler { #[pin] inner: F },
        Exporting { export: Export, outcome: Option<Outcome<R>> },
        Done,
    }
}

pin_project_lite::pin_project! {
    /// The future of [`Traced`](super::Traced): your handler's, with the invocation's span
    /// current on every poll, ready only when the spans of the invocation have been exported
    /// (or its deadline left no more time).
    ///
    /// ```
    /// use lambda_runtime::{service_fn, Context, Error, LambdaEvent};
    /// use mackerel_trace::lambda::{Layer, Payload, TracedFuture};
    /// use tower_layer::Layer as _;
    /// use tower_service::Service as _;
    ///
    /// async fn shout(event: LambdaEvent<String>) -> Result<String, Error> {
    ///     Ok(event.payload.to_uppercase())
    /// }
    ///
    /// let mut traced = Layer::new().layer(service_fn(shout));
    /// let payload: Payload<String> = serde_json::from_str(r#""hello""#)?;
    /// let future: TracedFuture<_, String> = traced.call(LambdaEvent::new(payload, Context::default()));
    /// // With no pipeline installed there is nothing to export: the handler's answer, as is.
    /// let answer = futures_executor::block_on(future).map_err(|d| d.error_message)?;
    /// assert_eq!(answer, "HELLO");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub struct TracedFuture<F, R> {
        #[pin]
        stage: Stage<F, R>,
        // The span's context, or the one current at `call` when no pipeline is installed.
        cx: Context,
        span: Option<Context>,
        // The front end of an HTTP event, whose response carries the status.
        http: Option<HttpSource>,
        request_id: String,
        export_by: std::time::Instant,
        // The span shown to `tracing` too (see `tower::ServerFuture`).
        mirror: MirrorSlot,
    }
}

/// Where the invocation's future starts: the span, and how to end it.
pub(super) struct Start {
    pub(super) cx: Context,
    pub(super) span: Option<Context>,
    pub(super) http: Option<HttpSource>,
    pub(super) request_id: String,
    pub(super) export_by: std::time::Instant,
}

impl<F, R> TracedFuture<F, R> {
    /// The handler's future, to poll with the span current.
    pub(super) fn handler(start: Start, inner: F) -> Self {
        Self::new(start, Stage::Handler { inner })
    }

    /// An invocation that is over before its handler ran (the event did not fit its type, or
    /// the handler panicked when called): its span ends and the export starts now.
    pub(super) fn finished(mut start: Start, outcome: Outcome<R>) -> Self
    where
        R: Serialize,
    {
        let export = match start.span.take() {
            Some(cx) => {
                end(&cx, start.http, &outcome);
                Export::start(std::mem::take(&mut start.request_id), start.export_by)
            }
            None => Export::none(),
        };
        let stage = Stage::Exporting {
            export,
            outcome: Some(outcome),
        };
        Self::new(start, stage)
    }

    fn new(start: Start, stage: Stage<F, R>) -> Self {
        TracedFuture {
            stage,
            cx: start.cx,
            span: start.span,
            http: start.http,
            request_id: start.request_id,
            export_by: start.export_by,
            mirror: MirrorSlot::default(),
        }
    }
}

impl<F, R, E> Future for TracedFuture<F, R>
where
    F: Future<Output = Result<R, E>>,
    E: Into<Diagnostic>,
    R: Serialize,
{
    type Output = Result<R, Diagnostic>;

    fn poll(self: Pin<&mut Self>, task: &mut TaskContext<'_>) -> Poll<Self::Output> {
        let mut this = self.project();
        loop {
            match this.stage.as_mut().project() {
                StageProj::Handler { inner } => {
                    let polled = {
                        let _attached = this.cx.clone().attach();
                        let _mirror = if this.span.is_some() {
                            this.mirror.enter()
                        } else {
                            None
                        };
                        catch_unwind(AssertUnwindSafe(|| inner.poll(task)))
                    };
                    let outcome = match polled {
                        Ok(Poll::Pending) => return Poll::Pending,
                        Ok(Poll::Ready(Ok(response))) => Outcome::Ok(response),
                        Ok(Poll::Ready(Err(error))) => Outcome::Err(error.into()),
                        Err(payload) => Outcome::Panic(payload),
                    };
                    let export = this.span.take().map(|cx| {
                        end(&cx, *this.http, &outcome);
                        Export::start(std::mem::take(this.request_id), *this.export_by)
                    });
                    this.stage.set(Stage::Exporting {
                        export: export.unwrap_or_else(Export::none),
                        outcome: Some(outcome),
                    });
                }
                StageProj::Exporting { export, outcome } => {
                    if Pin::new(export).poll(task).is_pending() {
                        return Poll::Pending;
                    }
                    let outcome = outcome.take();
                    this.stage.set(Stage::Done);
                    return match outcome {
                        Some(Outcome::Ok(response)) => Poll::Ready(Ok(response)),
                        Some(Outcome::Err(diagnostic)) => Poll::Ready(Err(diagnostic)),
                        // The runtime turns it into an error response, as without the layer.
                        Some(Outcome::Panic(payload)) => resume_unwind(payload),
                        None => Poll::Pending,
                    };
                }
                // Polled after completion: nothing more will come.
                StageProj::Done => return Poll::Pending,
            }
        }
    }
}

/// Records the outcome on the invocation's span and ends it.
pub(super) fn end<R: Serialize>(cx: &Context, http: Option<HttpSource>, outcome: &Outcome<R>) {
    let span = cx.span();
    match outcome {
        Outcome::Ok(response) => {
            if let Some(source) = http {
                invocation::record_response(cx, source, response);
            }
        }
        Outcome::Err(diagnostic) => exception::record_error(
            span,
            diagnostic.error_type.clone(),
            diagnostic.error_message.clone(),
            None,
        ),
        Outcome::Panic(payload) => panic::record_panic_payload(&cx.span(), &**payload),
    }
    cx.span().end();
}
