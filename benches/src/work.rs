//! `fn work(id: u64, name: &str) -> Result<u64, WorkError>` and its instrumented versions.

#[derive(Debug)]
pub struct WorkError;

impl std::fmt::Display for WorkError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("work failed")
    }
}

impl std::error::Error for WorkError {}

/// The work itself; `id == ERR_ID` takes the `Err` path (an id that fits an `i64`, so every
/// variant records it as the same integer).
#[inline(never)]
pub fn body(id: u64, name: &str) -> Result<u64, WorkError> {
    if id == crate::variants::ERR_ID {
        return Err(WorkError);
    }
    Ok(id.wrapping_mul(31) ^ name.len() as u64)
}

pub mod bare {
    use super::{body, WorkError};

    #[inline(never)]
    pub fn work(id: u64, name: &str) -> Result<u64, WorkError> {
        body(id, name)
    }

    #[inline(never)]
    pub async fn work_async(id: u64, name: &str) -> Result<u64, WorkError> {
        body(id, name)
    }
}

pub mod traced {
    use super::{body, WorkError};
    use mackerel_trace::traced;

    #[traced(record(id, name))]
    #[inline(never)]
    pub fn work(id: u64, name: &str) -> Result<u64, WorkError> {
        body(id, name)
    }

    #[traced(record(id, name))]
    #[inline(never)]
    pub async fn work_async(id: u64, name: &str) -> Result<u64, WorkError> {
        body(id, name)
    }

    #[traced(record(depth))]
    #[inline(never)]
    pub fn nested(depth: u32) -> u32 {
        if depth == 0 {
            0
        } else {
            nested(depth - 1) + 1
        }
    }
}

pub mod manual {
    use super::{body, WorkError};
    use mackerel_trace::opentelemetry::trace::{
        Span as _, SpanKind, Status, TraceContextExt as _, Tracer,
    };
    use mackerel_trace::opentelemetry::{Context, KeyValue};
    use mackerel_trace::opentelemetry_sdk::trace::SdkTracer;

    /// What a careful user writes by hand: start, two attributes, end.
    #[inline(never)]
    pub fn work(tracer: &SdkTracer, id: u64, name: &str) -> Result<u64, WorkError> {
        let mut span = tracer.start("work");
        span.set_attribute(KeyValue::new("id", id as i64));
        span.set_attribute(KeyValue::new("name", name.to_owned()));
        let result = body(id, name);
        span.end();
        result
    }

    /// The same, also recording the error and setting the status on `Err`.
    #[inline(never)]
    pub fn work_checked(tracer: &SdkTracer, id: u64, name: &str) -> Result<u64, WorkError> {
        let mut span = tracer.start("work");
        span.set_attribute(KeyValue::new("id", id as i64));
        span.set_attribute(KeyValue::new("name", name.to_owned()));
        let result = body(id, name);
        if let Err(err) = &result {
            span.record_error(err);
            span.set_status(Status::error(err.to_string()));
        }
        span.end();
        result
    }

    /// Hand-written OpenTelemetry doing what `#[traced(record(id, name))]` does: the span
    /// current while the body runs (so spans inside it are its children), the three `code.*`
    /// attributes, both arguments, and the error and status on `Err`. [`work`] does less (no
    /// current span, no `code.*`), so `traced / manual` overstates the macro's own cost; this
    /// variant separates the two.
    #[inline(never)]
    pub fn work_same_work(tracer: &SdkTracer, id: u64, name: &str) -> Result<u64, WorkError> {
        let span = tracer
            .span_builder("work")
            .with_kind(SpanKind::Internal)
            .with_attributes([
                KeyValue::new(
                    "code.function.name",
                    "mackerel_trace_benches::work::manual::work_same_work",
                ),
                KeyValue::new("code.file.path", file!()),
                KeyValue::new("code.line.number", i64::from(line!())),
                KeyValue::new("id", id as i64),
                KeyValue::new("name", name.to_owned()),
            ])
            .start(tracer);
        let cx = Context::current_with_span(span);
        let guard = cx.clone().attach();
        let result = body(id, name);
        drop(guard);
        let span = cx.span();
        if let Err(err) = &result {
            span.record_error(err);
            span.set_status(Status::error(err.to_string()));
        }
        span.end();
        result
    }

    /// [`work`] through any tracer, e.g. the global one.
    #[inline(never)]
    pub fn work_with<T: Tracer>(tracer: &T, id: u64, name: &str) -> Result<u64, WorkError> {
        let mut span = tracer.start("work");
        span.set_attribute(KeyValue::new("id", id as i64));
        span.set_attribute(KeyValue::new("name", name.to_owned()));
        let result = body(id, name);
        span.end();
        result
    }

    /// A 10-deep tree for `depth == 9`.
    pub fn nested(tracer: &SdkTracer, depth: u32) -> u32 {
        tracer.in_span("nested", |_| {
            if depth == 0 {
                0
            } else {
                nested(tracer, depth - 1) + 1
            }
        })
    }
}

pub mod with_tracing {
    use super::{body, WorkError};

    #[tracing::instrument]
    #[inline(never)]
    pub fn work(id: u64, name: &str) -> Result<u64, WorkError> {
        body(id, name)
    }

    #[tracing::instrument(err)]
    #[inline(never)]
    pub fn work_err(id: u64, name: &str) -> Result<u64, WorkError> {
        body(id, name)
    }

    #[tracing::instrument]
    #[inline(never)]
    pub async fn work_async(id: u64, name: &str) -> Result<u64, WorkError> {
        body(id, name)
    }
}

pub mod with_fastrace {
    use super::{body, WorkError};

    #[fastrace::trace]
    #[inline(never)]
    pub fn work(id: u64, name: &str) -> Result<u64, WorkError> {
        body(id, name)
    }
}

/// The least any span can cost that is *recording and current* for the OpenTelemetry API in
/// 0.33: a span type holding nothing but its span context (`is_recording` true, every write a
/// no-op), made current with `Context::with_span` (a `Box` for the span, an `Arc` for the
/// context), attached, ended through `SpanRef::end` (one clock read), detached and freed; and
/// the start clock read a span needs. No ids, sampling, attributes or export: the floor under
/// `#[traced]`'s `sync_traced`, which does all of those too.
pub mod context_floor {
    use std::borrow::Cow;
    use std::time::SystemTime;

    use mackerel_trace::opentelemetry::trace::{
        Span, SpanContext, SpanId, Status, TraceContextExt as _, TraceFlags, TraceId, TraceState,
    };
    use mackerel_trace::opentelemetry::{Context, KeyValue};

    use super::{body, WorkError};

    /// A recording span that records nothing.
    #[derive(Debug)]
    struct Minimal {
        span_context: SpanContext,
        start: SystemTime,
    }

    impl Span for Minimal {
        fn add_event_with_timestamp<T>(&mut self, _: T, _: SystemTime, _: Vec<KeyValue>)
        where
            T: Into<Cow<'static, str>>,
        {
        }
        fn span_context(&self) -> &SpanContext {
            &self.span_context
        }
        fn is_recording(&self) -> bool {
            true
        }
        fn set_attribute(&mut self, _: KeyValue) {}
        fn set_status(&mut self, _: Status) {}
        fn update_name<T>(&mut self, _: T)
        where
            T: Into<Cow<'static, str>>,
        {
        }
        fn add_link(&mut self, _: SpanContext, _: Vec<KeyValue>) {}
        fn end_with_timestamp(&mut self, end: SystemTime) {
            std::hint::black_box((self.start, end));
        }
    }

    #[inline(never)]
    pub fn work(id: u64, name: &str) -> Result<u64, WorkError> {
        let span = Minimal {
            span_context: SpanContext::new(
                TraceId::from(1u128),
                SpanId::from(id | 1),
                TraceFlags::SAMPLED,
                false,
                TraceState::NONE,
            ),
            start: mackerel_trace::opentelemetry::time::now(),
        };
        let guard = Context::map_current(|cx| cx.with_span(span)).attach();
        let result = body(id, name);
        Context::map_current(|cx| cx.span().end());
        drop(guard);
        result
    }

    /// The same for a span that is current but *not recording* for the OpenTelemetry API (a
    /// bare span context, as `Context::with_remote_span_context` makes: one `Arc`, no box, no
    /// mutex), with both clock reads: what the research's design A would start from.
    #[inline(never)]
    pub fn work_not_recording(id: u64, name: &str) -> Result<u64, WorkError> {
        let start = mackerel_trace::opentelemetry::time::now();
        let span_context = SpanContext::new(
            TraceId::from(1u128),
            SpanId::from(id | 1),
            TraceFlags::SAMPLED,
            false,
            TraceState::NONE,
        );
        let guard = Context::map_current(|cx| cx.with_remote_span_context(span_context)).attach();
        let result = body(id, name);
        std::hint::black_box((start, mackerel_trace::opentelemetry::time::now()));
        drop(guard);
        result
    }
}

/// One `tracing` event with two fields, as a service logs it: what the logs variants measure.
pub mod log_event {
    /// `tracing::info!` with an integer and a string field.
    #[inline(never)]
    pub fn info(id: u64, name: &str) {
        tracing::info!(order.id = id, user = name, "order checked out");
    }

    /// The same event at `DEBUG`, below the logs filter's default `info`.
    #[inline(never)]
    pub fn debug(id: u64, name: &str) {
        tracing::debug!(order.id = id, user = name, "order checked out");
    }
}
