//! `#[traced]` under mackerel-trace's own pipeline (`init()`), which records its spans without
//! the SDK's per-span machinery: everything a user relies on, checked on the wire. The same
//! behaviour with a provider of the user's (the SDK path) is in tests/traced/.

mod support;

use std::time::Duration;

use std::future::Future as _;

use mackerel_trace::opentelemetry::trace::{
    get_active_span, Span as _, SpanContext, SpanId, Status, TraceContextExt as _, TraceFlags,
    TraceId, TraceState, Tracer as _,
};
use mackerel_trace::opentelemetry::{global, Context, KeyValue};
use mackerel_trace::testing::{ReceivedSpan, Receiver};
use mackerel_trace::traced;

fn by_name<'a>(spans: &'a [ReceivedSpan], name: &str) -> &'a ReceivedSpan {
    spans
        .iter()
        .find(|s| s.name() == name)
        .unwrap_or_else(|| panic!("no span {name:?} in {:?}", names(spans)))
}

fn names(spans: &[ReceivedSpan]) -> Vec<&str> {
    spans.iter().map(ReceivedSpan::name).collect()
}

/// Runs `body` under a pipeline exporting to a fresh receiver; returns what arrived.
fn run(vars: &[(&str, &str)], expected: usize, body: impl FnOnce()) -> Vec<ReceivedSpan> {
    let receiver = Receiver::start();
    {
        let _one = support::exclusive();
        let guard = support::start(support::config(&receiver.endpoint(), vars));
        body();
        let stats = guard.shutdown();
        assert_eq!(stats.dropped(), 0, "{stats:?}");
    }
    receiver.wait_for_spans(expected, Duration::from_secs(5))
}

#[traced(record(order_id, customer))]
fn handle(order_id: u64, customer: &str) {
    // The span is current and recording for the OpenTelemetry API.
    assert!(Context::current().span().is_recording());
    get_active_span(|span| {
        span.set_attribute(KeyValue::new("api.attr", 7));
        span.add_event("api.event", vec![KeyValue::new("step", "one")]);
        span.set_status(Status::Ok);
        span.update_name("handle_renamed");
    });
    // A manual child parents to it.
    let tracer = global::tracer("manual");
    tracer.start("manual_child").end();
    // From another thread, through a cloned context, before the call ends.
    let cx = Context::current();
    std::thread::spawn(move || {
        cx.span().set_attribute(KeyValue::new("from.thread", true));
    })
    .join()
    .unwrap();
}

#[test]
fn the_opentelemetry_api_inside_a_traced_call_lands_on_its_span() {
    let spans = run(&[], 3, || {
        let tracer = global::tracer("manual");
        tracer.in_span("outer", |_| {
            handle(42, "a customer with a long name, not inline")
        });
    });
    let outer = by_name(&spans, "outer");
    let handled = by_name(&spans, "handle_renamed");
    let child = by_name(&spans, "manual_child");
    assert_eq!(handled.parent_span_id(), Some(outer.span_id()));
    assert_eq!(handled.trace_id(), outer.trace_id());
    assert_eq!(child.parent_span_id(), Some(handled.span_id()));
    assert_eq!(handled.int_attr("order_id"), Some(42));
    assert_eq!(
        handled.string_attr("customer"),
        Some("a customer with a long name, not inline")
    );
    assert_eq!(handled.int_attr("api.attr"), Some(7));
    assert_eq!(handled.bool_attr("from.thread"), Some(true));
    assert!(handled.string_attr("code.function.name").is_some());
    assert!(handled.int_attr("code.line.number").is_some());
    let event = handled.event("api.event").expect("the API's event");
    assert_eq!(event.attributes.len(), 1);
    // STATUS_CODE_OK
    assert_eq!(handled.span.status.as_ref().map(|s| s.code), Some(1));
    assert_eq!(handled.scope_name, "mackerel-trace");
    // The attributes come in the order they were set: code.*, record(...), then the API's.
    let keys: Vec<&str> = handled
        .span
        .attributes
        .iter()
        .map(|kv| kv.key.as_str())
        .collect();
    assert_eq!(
        keys,
        [
            "code.function.name",
            "code.file.path",
            "code.line.number",
            "order_id",
            "customer",
            "api.attr",
            "from.thread"
        ]
    );
}

#[derive(Debug)]
struct Failed;

impl std::fmt::Display for Failed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("it failed")
    }
}

impl std::error::Error for Failed {}

#[traced]
fn fails() -> Result<(), Failed> {
    Err(Failed)
}

#[traced]
fn panics() {
    panic!("boom");
}

#[traced]
async fn waits() {
    tokio::task::yield_now().await;
}

#[test]
fn err_panic_and_cancellation_are_recorded() {
    let spans = run(&[], 3, || {
        let _ = fails();
        let _ = std::panic::catch_unwind(panics);
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        rt.block_on(async {
            // Polled once (it yields), then dropped unfinished.
            let mut future = Box::pin(waits());
            std::future::poll_fn(|cx| {
                let _ = future.as_mut().poll(cx);
                std::task::Poll::Ready(())
            })
            .await;
        });
    });
    let failed = by_name(&spans, "fails");
    assert_eq!(failed.span.status.as_ref().map(|s| s.code), Some(2));
    assert!(failed.event("exception").is_some());
    let panicked = by_name(&spans, "panics");
    assert_eq!(panicked.span.status.as_ref().map(|s| s.code), Some(2));
    let exception = panicked.event("exception").expect("the panic's event");
    assert!(exception
        .attributes
        .iter()
        .any(|kv| kv.key == "exception.message"));
    let waited = by_name(&spans, "waits");
    assert!(waited.event("cancelled").is_some());
}

#[traced]
fn step(i: u64) -> u64 {
    i * 2
}

#[test]
fn threads_that_exit_lose_none_of_their_spans() {
    let spans = run(&[], 800, || {
        let threads: Vec<_> = (0..8)
            .map(|t| {
                std::thread::spawn(move || {
                    for i in 0..100 {
                        std::hint::black_box(step(t * 1000 + i));
                    }
                })
            })
            .collect();
        for thread in threads {
            thread.join().unwrap();
        }
    });
    assert_eq!(spans.iter().filter(|s| s.name() == "step").count(), 800);
}

#[test]
fn sampling_follows_the_parent_and_the_ratio_as_the_sdk_decides() {
    // Under an unsampled parent nothing is recorded; under a sampled one, everything.
    let spans = run(&[], 1, || {
        // A caller that did not sample (traceparent flags 00).
        let cx = Context::new().with_remote_span_context(SpanContext::new(
            TraceId::from(7),
            SpanId::from(9),
            TraceFlags::default(),
            true,
            TraceState::default(),
        ));
        {
            let _attached = cx.attach();
            step(1);
        }
        step(2);
    });
    assert_eq!(names(&spans), ["step"]);

    // A ratio of 0 with no parent records nothing, ParentBased or not; a ratio of 1, all.
    let receiver = Receiver::start();
    {
        let _one = support::exclusive();
        let guard = support::start(support::config(
            &receiver.endpoint(),
            &[
                ("OTEL_TRACES_SAMPLER", "traceidratio"),
                ("OTEL_TRACES_SAMPLER_ARG", "0"),
            ],
        ));
        for i in 0..50 {
            step(i);
        }
        guard.shutdown();
    }
    std::thread::sleep(Duration::from_millis(200));
    assert!(
        receiver.spans().is_empty(),
        "{:?}",
        names(&receiver.spans())
    );
}

thread_local! {
    /// A traced future a thread-local holds: dropped, unfinished, as the thread is torn down.
    static HELD: std::cell::RefCell<Option<std::pin::Pin<Box<dyn std::future::Future<Output = ()>>>>> =
        const { std::cell::RefCell::new(None) };
}

#[test]
fn a_span_that_ends_while_its_thread_is_torn_down_is_exported() {
    let spans = run(&[], 2, || {
        std::thread::spawn(|| {
            HELD.with(|held| {
                let mut future: std::pin::Pin<Box<dyn std::future::Future<Output = ()>>> =
                    Box::pin(waits());
                let mut task = std::task::Context::from_waker(std::task::Waker::noop());
                assert!(future.as_mut().poll(&mut task).is_pending());
                *held.borrow_mut() = Some(future);
            });
            // The thread's span buffer is set up after HELD: torn down before it.
            step(1);
        })
        .join()
        .unwrap();
    });
    assert!(
        spans.iter().any(|s| s.name() == "step"),
        "{:?}",
        names(&spans)
    );
    let waited = by_name(&spans, "waits");
    assert!(waited.event("cancelled").is_some());
}

/// An error whose `Display` writes in pieces, past what a span keeps in place.
#[derive(Debug)]
struct Outer(Failed);

impl std::fmt::Display for Outer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for piece in ["outer failed while ", "loading", " the nightly batch"] {
            f.write_str(piece)?;
        }
        Ok(())
    }
}

impl std::error::Error for Outer {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.0)
    }
}

#[traced]
fn fails_with_a_cause() -> Result<(), Outer> {
    Err(Outer(Failed))
}

#[traced]
fn fails_after_an_event() -> Result<(), Failed> {
    get_active_span(|span| span.add_event("before", Vec::new()));
    Err(Failed)
}

#[traced]
fn fails_after_ok() -> Result<(), Failed> {
    get_active_span(|span| span.set_status(Status::Ok));
    Err(Failed)
}

#[traced]
fn fails_at_length() -> Result<(), String> {
    Err("é".repeat(3000))
}

#[traced]
fn fails_twice() -> Result<(), Failed> {
    get_active_span(|span| {
        span.record_error(&Failed);
        span.set_status(Status::error("zz first"));
    });
    Err(Failed)
}

fn string_attr<'a>(attributes: &'a [KeyValueProto], key: &str) -> Option<&'a str> {
    use mackerel_trace::testing::proto::common::v1::any_value::Value;
    attributes.iter().find(|kv| kv.key == key).and_then(|kv| {
        match kv.value.as_ref()?.value.as_ref()? {
            Value::StringValue(s) => Some(s.as_str()),
            _ => None,
        }
    })
}

use mackerel_trace::testing::proto::common::v1::KeyValue as KeyValueProto;

#[test]
fn an_err_is_written_as_the_sdk_writes_it() {
    let spans = run(&[], 5, || {
        let _ = fails_with_a_cause();
        let _ = fails_after_an_event();
        let _ = fails_after_ok();
        let _ = fails_at_length();
        let _ = fails_twice();
    });
    let message = "outer failed while loading the nightly batch";
    let span = by_name(&spans, "fails_with_a_cause");
    let status = span.span.status.as_ref().expect("a status");
    assert_eq!((status.code, status.message.as_str()), (2, message));
    assert!(span
        .string_attr("error.type")
        .is_some_and(|t| t.ends_with("::Outer")));
    let exception = span.event("exception").expect("the exception event");
    assert_eq!(exception.attributes.len(), 3);
    assert!(string_attr(&exception.attributes, "exception.type")
        .is_some_and(|t| t.ends_with("::Outer")));
    assert_eq!(
        string_attr(&exception.attributes, "exception.message"),
        Some(message)
    );
    assert_eq!(
        string_attr(&exception.attributes, "exception.stacktrace"),
        Some(format!("{message}\ncaused by: it failed").as_str())
    );
    assert!(exception.time_unix_nano >= span.span.start_time_unix_nano);
    assert!(exception.time_unix_nano <= span.span.end_time_unix_nano);

    // The exception keeps its place among the span's events.
    let span = by_name(&spans, "fails_after_an_event");
    let events: Vec<&str> = span.span.events.iter().map(|e| e.name.as_str()).collect();
    assert_eq!(events, ["before", "exception"]);
    assert_eq!(span.span.status.as_ref().map(|s| s.code), Some(2));

    // Ok outranks Error, as in the SDK; the event is still there.
    let span = by_name(&spans, "fails_after_ok");
    assert_eq!(span.span.status.as_ref().map(|s| s.code), Some(1));
    assert!(span.event("exception").is_some());

    // Cut to 4096 bytes on a char boundary (a Display-only error takes another way in).
    let span = by_name(&spans, "fails_at_length");
    let status = span.span.status.as_ref().expect("a status");
    assert_eq!(status.message, "é".repeat(2048));
    let exception = span.event("exception").expect("the exception event");
    assert_eq!(
        string_attr(&exception.attributes, "exception.message"),
        Some(status.message.as_str())
    );

    // Two failures: two events; of two errors, the status keeps the greater description.
    let span = by_name(&spans, "fails_twice");
    let events: Vec<&str> = span.span.events.iter().map(|e| e.name.as_str()).collect();
    assert_eq!(events, ["exception", "exception"]);
    let status = span.span.status.as_ref().expect("a status");
    assert_eq!((status.code, status.message.as_str()), (2, "zz first"));
}

#[test]
fn an_err_respects_the_event_limit() {
    let receiver = Receiver::start();
    {
        let _one = support::exclusive();
        // Span limits come from the process environment only, for the SDK and for the fast
        // path alike: set while this test alone starts a pipeline, and read when it starts.
        std::env::set_var("OTEL_SPAN_EVENT_COUNT_LIMIT", "1");
        let guard = support::start(support::config(&receiver.endpoint(), &[]));
        std::env::remove_var("OTEL_SPAN_EVENT_COUNT_LIMIT");
        let _ = fails_after_an_event();
        let _ = fails();
        let stats = guard.shutdown();
        assert_eq!(stats.dropped(), 0, "{stats:?}");
    }
    let spans = receiver.wait_for_spans(2, Duration::from_secs(5));
    // No room for the exception: counted as dropped; the status and `error.type` are set.
    let span = by_name(&spans, "fails_after_an_event");
    let events: Vec<&str> = span.span.events.iter().map(|e| e.name.as_str()).collect();
    assert_eq!(events, ["before"]);
    assert_eq!(span.span.dropped_events_count, 1);
    let status = span.span.status.as_ref().expect("a status");
    assert_eq!((status.code, status.message.as_str()), (2, "it failed"));
    assert!(span
        .string_attr("error.type")
        .is_some_and(|t| t.ends_with("::Failed")));
    // Room for one: the exception.
    let span = by_name(&spans, "fails");
    let events: Vec<&str> = span.span.events.iter().map(|e| e.name.as_str()).collect();
    assert_eq!(events, ["exception"]);
    assert_eq!(span.span.dropped_events_count, 0);
}
