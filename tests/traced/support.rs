//! Shared by the `#[traced]` test modules: one in-memory capture for the test binary (the installed tracer is
//! process-wide), and lookups by span name — each test traces functions with names of its own.

#![allow(dead_code)] // each test file uses a different part

use std::sync::OnceLock;

use mackerel_trace::opentelemetry::trace::{Event, SpanId};
use mackerel_trace::opentelemetry::{Key, Value};
use mackerel_trace::opentelemetry_sdk::trace::SpanData;
use mackerel_trace::testing::SpanCapture;

/// The capture every traced span of this test binary goes to.
pub fn capture() -> &'static SpanCapture {
    static CAPTURE: OnceLock<SpanCapture> = OnceLock::new();
    CAPTURE.get_or_init(SpanCapture::install)
}

/// The one finished span named `name`; panics when there is none or more than one.
pub fn span(name: &str) -> SpanData {
    let mut spans = capture().spans_named(name);
    assert_eq!(
        spans.len(),
        1,
        "expected one span named {name:?}, got {spans:#?}"
    );
    spans.remove(0)
}

/// Every finished span named `name`.
pub fn spans(name: &str) -> Vec<SpanData> {
    capture().spans_named(name)
}

/// The value of attribute `key` on `span`.
pub fn attr(span: &SpanData, key: &str) -> Option<Value> {
    span.attributes
        .iter()
        .find(|kv| kv.key == Key::from(key.to_owned()))
        .map(|kv| kv.value.clone())
}

/// The value of attribute `key` on `event`.
pub fn event_attr(event: &Event, key: &str) -> Option<Value> {
    event
        .attributes
        .iter()
        .find(|kv| kv.key == Key::from(key.to_owned()))
        .map(|kv| kv.value.clone())
}

/// The events named `name` on `span`.
pub fn events(span: &SpanData, name: &str) -> Vec<Event> {
    span.events
        .iter()
        .filter(|e| e.name == name)
        .cloned()
        .collect()
}

/// A string attribute value.
pub fn string(s: &str) -> Value {
    Value::String(s.to_owned().into())
}

/// Asserts `child`'s parent is `parent`, in the same trace.
pub fn assert_child_of(child: &SpanData, parent: &SpanData) {
    assert_eq!(
        child.parent_span_id,
        parent.span_context.span_id(),
        "{} is not a child of {}",
        child.name,
        parent.name
    );
    assert_eq!(
        child.span_context.trace_id(),
        parent.span_context.trace_id()
    );
}

/// Asserts `span` has no parent.
pub fn assert_root(span: &SpanData) {
    assert_eq!(
        span.parent_span_id,
        SpanId::INVALID,
        "{} has a parent",
        span.name
    );
}

/// Runs `f` under a fresh manual root span, so that tests calling the same traced functions
/// in parallel can tell their spans apart; returns `f`'s value and the trace id.
pub fn in_own_trace<R>(
    f: impl FnOnce() -> R,
) -> (R, mackerel_trace::opentelemetry::trace::TraceId) {
    use mackerel_trace::opentelemetry::trace::{TraceContextExt as _, Tracer as _};
    use mackerel_trace::opentelemetry::{global, Context};
    capture();
    let root = global::tracer("test").start("test-root");
    let cx = Context::current_with_span(root);
    let trace_id = cx.span().span_context().trace_id();
    let value = {
        let _attached = cx.clone().attach();
        f()
    };
    cx.span().end();
    (value, trace_id)
}

/// The one finished span named `name` in trace `trace_id`.
pub fn span_in(trace_id: mackerel_trace::opentelemetry::trace::TraceId, name: &str) -> SpanData {
    let mut spans: Vec<SpanData> = capture()
        .spans_named(name)
        .into_iter()
        .filter(|s| s.span_context.trace_id() == trace_id)
        .collect();
    assert_eq!(
        spans.len(),
        1,
        "expected one span named {name:?} in trace {trace_id}, got {spans:#?}"
    );
    spans.remove(0)
}
