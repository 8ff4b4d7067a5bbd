//! The span behind one `#[traced]` call: started at call time, current while the function runs,
//! ended when it returns, unwinds, or (for futures) is dropped unfinished.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context as TaskContext, Poll};

use opentelemetry::trace::{Span as _, SpanBuilder, SpanKind, TraceContextExt as _, Tracer as _};
use opentelemetry::{Context, ContextGuard, Key, KeyValue, StringValue, Value};
use opentelemetry_sdk::trace::{SdkTracer, Span as SdkSpan};

use crate::current::MirrorSlot;
use crate::panic;
use crate::value::{cut_format, AttributeValue};

/// What one `#[traced]` function always records; one `static` per function, so nothing allocates.
#[derive(Debug)]
pub struct CallSite {
    /// The span name.
    pub name: &'static str,
    /// The span kind.
    pub kind: SpanKind,
    /// `code.function.name`: module path, `::`, (type `::`) function.
    pub function: &'static str,
    /// `code.file.path`.
    pub file: &'static str,
    /// `code.line.number`: the line of the function's name.
    pub line: u32,
    /// Start a new trace instead of continuing the current one.
    pub root: bool,
    /// How many `record(...)` entries the function has: the attribute list is allocated once.
    pub records: usize,
}

impl CallSite {
    /// `code.function.name`, `code.file.path` and `code.line.number`: the first attributes of
    /// every span of this function, in this order.
    pub(crate) fn code_attributes(&self) -> [KeyValue; 3] {
        [
            KeyValue::new(
                CODE_FUNCTION_NAME,
                Value::String(StringValue::from(self.function)),
            ),
            KeyValue::new(CODE_FILE_PATH, Value::String(StringValue::from(self.file))),
            KeyValue::new(CODE_LINE_NUMBER, Value::I64(i64::from(self.line))),
        ]
    }
}

const CODE_FUNCTION_NAME: Key = Key::from_static_str("code.function.name");
const CODE_FILE_PATH: Key = Key::from_static_str("code.file.path");
const CODE_LINE_NUMBER: Key = Key::from_static_str("code.line.number");

/// A started span (or nothing, when tracing is off). Cloning shares the same span.
#[derive(Clone, Debug)]
pub struct Span {
    /// The parent context with the new span in it; `None` when no tracer is installed.
    cx: Option<Context>,
    /// Whether the span is sampled, decided when it starts (saves a lock per check).
    sampled: bool,
}

impl Span {
    /// Starts the span for `site` on the installed tracer: one branch when none is installed.
    /// `record` sets the `record(...)` attributes, and runs only when the span is sampled; it
    /// writes straight into the new span, before the span is shared through a `Context`.
    #[inline]
    pub fn start<F: FnOnce(&mut Attributes<'_>)>(site: &'static CallSite, record: F) -> Span {
        match crate::tracer::tracer() {
            None => Span {
                cx: None,
                sampled: false,
            },
            Some(tracer) => match crate::fast::pipeline() {
                Some(pipeline) => Span::start_fast(pipeline, site, record),
                None => Span::start_on(tracer, site, record),
            },
        }
    }

    /// The on path under mackerel-trace's own pipeline: a [`FastSpan`](crate::fast), current
    /// through the same `Context`, exported without the SDK's per-span machinery.
    #[inline(never)]
    fn start_fast<F: FnOnce(&mut Attributes<'_>)>(
        pipeline: &'static crate::fast::Pipeline,
        site: &'static CallSite,
        record: F,
    ) -> Span {
        use crate::fast::Started;
        panic::install_panic_hook();
        match Context::map_current(|cx| crate::fast::start(pipeline, site, cx)) {
            Started::Recording(cx, fast) => {
                // SAFETY: `cx` holds the span this record belongs to, and is neither cloned
                // nor attached yet: nothing else can reach the record while `record` runs.
                let fast = unsafe { &mut *fast.as_ptr() };
                // Outside the thread-local borrow: `record` may run code that uses the context.
                record(&mut Attributes(Target::Fast(fast)));
                Span {
                    cx: Some(cx),
                    sampled: true,
                }
            }
            Started::NotRecording(cx) => Span {
                cx: Some(cx),
                sampled: false,
            },
        }
    }

    /// The on path of [`Span::start`], out of line so that a traced function's own frame stays
    /// small when tracing is off.
    #[inline(never)]
    fn start_on<F: FnOnce(&mut Attributes<'_>)>(
        tracer: &'static SdkTracer,
        site: &'static CallSite,
        record: F,
    ) -> Span {
        let mut span = begin(tracer, site);
        let sampled = span.is_recording();
        if sampled {
            record(&mut Attributes(Target::Sdk(&mut span)));
        }
        Span {
            cx: Some(Context::current_with_span(span)),
            sampled,
        }
    }

    /// Runs `body` with the span current, then hands the sampled span and the value to
    /// `outcome`; the span ends when this returns or unwinds. Out of line, like `start_on`.
    #[inline(never)]
    pub fn run<R>(self, body: impl FnOnce() -> R, outcome: impl FnOnce(Recorder<'_>, &R)) -> R {
        let entered = self.enter();
        let value = body();
        if let Some(recorder) = entered.recording() {
            outcome(recorder, &value);
        }
        value
    }

    /// Whether a tracer was installed when the span started (false: nothing to do).
    #[inline]
    pub fn is_on(&self) -> bool {
        self.cx.is_some()
    }

    /// The span, when it is sampled and so worth recording attributes on.
    #[inline]
    pub fn recording(&self) -> Option<Recorder<'_>> {
        if self.sampled {
            self.cx.as_ref().map(Recorder)
        } else {
            None
        }
    }

    /// Makes the span current until the returned guard drops, which ends it.
    ///
    /// For OpenTelemetry only: a sync function has no `tracing` mirror (see
    /// [`Instrumented`]), as nothing it calls can capture `tracing::Span::current()` and
    /// outlive it except through [`in_current_span`](crate::in_current_span), which makes
    /// its own.
    #[inline]
    pub fn enter(self) -> Entered {
        let attached = self.cx.clone().map(Context::attach);
        Entered {
            span: self,
            _attached: attached,
        }
    }

    /// Makes the span current until the returned guard drops, without ending it.
    #[inline]
    pub fn attach(&self) -> Option<ContextGuard> {
        self.cx.clone().map(Context::attach)
    }

    /// Makes the span current on every poll of `future`, and ends it when `future` completes or
    /// is dropped.
    #[inline]
    pub fn instrument<F: Future>(self, future: F) -> Instrumented<F> {
        Instrumented {
            inner: future,
            span: self,
            mirror: MirrorSlot::default(),
        }
    }

    /// Ends the span, recording a panic first when the thread is unwinding.
    #[inline]
    fn end(&mut self) {
        if let Some(cx) = self.cx.take() {
            end(&cx);
        }
    }
}

fn end(cx: &Context) {
    if std::thread::panicking() {
        panic::record_panic(&cx.span());
    }
    cx.span().end();
}

/// Builds the span: the `code.*` attributes and room for the `record(...)` ones in one
/// allocation; the parent read from the current context without cloning it.
fn begin(tracer: &'static SdkTracer, site: &'static CallSite) -> SdkSpan {
    panic::install_panic_hook();
    let mut attributes = Vec::with_capacity(3 + site.records);
    attributes.extend(site.code_attributes());
    let mut builder = SpanBuilder::from_name(site.name).with_kind(site.kind.clone());
    builder.attributes = Some(attributes);
    if site.root {
        tracer.build_with_context(builder, &Context::new())
    } else {
        Context::map_current(|cx| tracer.build_with_context(builder, cx))
    }
}

/// The attribute `record(...)` or `ret` writes for `value`, through [`AttributeValue`].
#[inline]
fn typed<V: AttributeValue + ?Sized>(key: &'static str, value: &V) -> Option<KeyValue> {
    value
        .to_value()
        .map(|value| KeyValue::new(Key::from_static_str(key), value))
}

/// The attribute for a `%` or `?` entry: the formatted text, cut to 4096 bytes.
#[inline]
fn text(key: &'static str, value: fmt::Arguments<'_>) -> KeyValue {
    KeyValue::new(Key::from_static_str(key), cut_format(value))
}

/// The new span's `record(...)` attributes, written before the span is shared.
#[derive(Debug)]
pub struct Attributes<'a>(Target<'a>);

/// The span `Attributes` writes into.
#[derive(Debug)]
enum Target<'a> {
    Sdk(&'a mut SdkSpan),
    Fast(&'a mut crate::fast::Record),
}

impl Attributes<'_> {
    #[inline]
    fn set(&mut self, attribute: KeyValue) {
        match &mut self.0 {
            Target::Sdk(span) => span.set_attribute(attribute),
            Target::Fast(span) => span.push_attribute(attribute),
        }
    }

    /// Records `value` through [`AttributeValue`]; nothing when it converts to `None`.
    #[inline(always)]
    pub fn record<V: AttributeValue + ?Sized>(&mut self, key: &'static str, value: &V) {
        if let Target::Fast(record) = &mut self.0 {
            if let Some(text) = value.as_text() {
                record.push_text(key, text);
            } else if let Some(value) = value.to_value() {
                record.push_value(key, value);
            }
            return;
        }
        if let Some(attribute) = typed(key, value) {
            self.set(attribute);
        }
    }

    /// Records `value`'s Display text, cut to 4096 bytes.
    #[inline]
    pub fn record_display<V: fmt::Display + ?Sized>(&mut self, key: &'static str, value: &V) {
        self.set(text(key, format_args!("{value}")));
    }

    /// Records `value`'s Debug text, cut to 4096 bytes.
    #[inline]
    pub fn record_debug<V: fmt::Debug + ?Sized>(&mut self, key: &'static str, value: &V) {
        self.set(text(key, format_args!("{value:?}")));
    }
}

/// A sampled span, for recording attributes and outcomes.
#[derive(Clone, Copy, Debug)]
pub struct Recorder<'a>(&'a Context);

impl<'a> Recorder<'a> {
    /// Records `value` through [`AttributeValue`]; nothing when it converts to `None`.
    #[inline]
    pub fn record<V: AttributeValue + ?Sized>(self, key: &'static str, value: &V) {
        if let Some(attribute) = typed(key, value) {
            self.0.span().set_attribute(attribute);
        }
    }

    /// Records `value`'s Display text, cut to 4096 bytes.
    #[inline]
    pub fn record_display<V: fmt::Display + ?Sized>(self, key: &'static str, value: &V) {
        self.0
            .span()
            .set_attribute(text(key, format_args!("{value}")));
    }

    /// Records `value`'s Debug text, cut to 4096 bytes.
    #[inline]
    pub fn record_debug<V: fmt::Debug + ?Sized>(self, key: &'static str, value: &V) {
        self.0
            .span()
            .set_attribute(text(key, format_args!("{value:?}")));
    }

    pub(crate) fn span(self) -> opentelemetry::trace::SpanRef<'a> {
        self.0.span()
    }
}

/// A span that is current on this thread until it drops; dropping ends it.
#[derive(Debug)]
pub struct Entered {
    span: Span,
    _attached: Option<ContextGuard>,
}

impl Entered {
    /// The span, when it is sampled.
    #[inline]
    pub fn recording(&self) -> Option<Recorder<'_>> {
        self.span.recording()
    }
}

impl Drop for Entered {
    #[inline]
    fn drop(&mut self) {
        self.span.end();
    }
}

/// A future whose span is current on every poll; see [`Span::instrument`].
///
/// It holds no `ContextGuard` between polls, so it is `Send` exactly when the inner future is.
/// While a `tracing` subscriber wants it (the `tracing` feature's bridge layer does), the span
/// is also shown to `tracing` as a mirror span, made on the first poll and entered on every
/// one, so that what carries `tracing::Span::current()` elsewhere (sqlx's SQLite worker,
/// `Instrument::in_current_span`) carries this span.
#[derive(Debug)]
pub struct Instrumented<F> {
    inner: F,
    span: Span,
    mirror: MirrorSlot,
}

impl<F: Future> Future for Instrumented<F> {
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, task: &mut TaskContext<'_>) -> Poll<F::Output> {
        // SAFETY: `inner` is structurally pinned: it is never moved out of `self`, and `Drop`
        // below only touches `span`.
        let this = unsafe { self.get_unchecked_mut() };
        let inner = unsafe { Pin::new_unchecked(&mut this.inner) };
        let Some(cx) = &this.span.cx else {
            return inner.poll(task);
        };
        let attached = cx.clone().attach();
        let mirror = this.mirror.enter();
        // A panic inside `poll` ends the span here, while the thread is still unwinding; the
        // executor may only drop the future later, after catching the panic.
        let unwinding = EndOnUnwind(&mut this.span);
        let poll = inner.poll(task);
        std::mem::forget(unwinding);
        #[allow(clippy::drop_non_drop)] // without the `tracing` feature the mirror is empty
        drop(mirror);
        drop(attached);
        if poll.is_ready() {
            this.span.end();
        }
        poll
    }
}

struct EndOnUnwind<'a>(&'a mut Span);

impl Drop for EndOnUnwind<'_> {
    fn drop(&mut self) {
        self.0.end();
    }
}

impl<F> Drop for Instrumented<F> {
    fn drop(&mut self) {
        if let Some(cx) = &self.span.cx {
            if !std::thread::panicking() {
                cx.span().add_event("cancelled", Vec::new());
            }
        }
        self.span.end();
    }
}
