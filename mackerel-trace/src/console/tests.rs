//! The console exporter's output, snapshot by snapshot: tree layout, colour, durations, buffering.

use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use opentelemetry::trace::{
    Span as _, SpanContext, SpanId, SpanKind, Status, TraceContextExt as _, TraceFlags, TraceId,
    TraceState, Tracer as _, TracerProvider as _,
};
use opentelemetry::{Array, Context, KeyValue, Value};
use opentelemetry_sdk::trace::{SdkTracer, SdkTracerProvider};
use opentelemetry_sdk::Resource;

use super::buffer::MAX_BUFFERED_SPANS;
use super::render::format_duration;
use super::ConsoleExporter;

/// A writer the test reads back after the exporter wrote to it.
#[derive(Clone, Default)]
struct Output(Arc<Mutex<Vec<u8>>>);

impl Write for Output {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Output {
    fn text(&self) -> String {
        String::from_utf8(self.0.lock().unwrap().clone()).unwrap()
    }
}

fn provider(colour: bool) -> (SdkTracerProvider, SdkTracer, Output) {
    let output = Output::default();
    let exporter = ConsoleExporter::with_writer(Box::new(output.clone()), colour);
    let provider = SdkTracerProvider::builder()
        .with_resource(
            Resource::builder_empty()
                .with_service_name("checkout")
                .build(),
        )
        .with_simple_exporter(exporter)
        .build();
    let tracer = provider.tracer("test");
    (provider, tracer, output)
}

/// A fixed instant plus `micros`, so durations in the output are exact.
fn at(micros: u64) -> SystemTime {
    SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000) + Duration::from_micros(micros)
}

/// root → load_user (→ select users) and charge (error, exception with a stacktrace).
/// Returns the trace id.
fn record_checkout(tracer: &SdkTracer) -> String {
    let root = tracer
        .span_builder("handle_order")
        .with_kind(SpanKind::Server)
        .with_start_time(at(0))
        .with_attributes([
            KeyValue::new("http.route", "/orders/{id}"),
            KeyValue::new("order.id", 42),
            KeyValue::new("code.file.path", "src/main.rs"),
            KeyValue::new("code.line.number", 12),
            KeyValue::new("code.function.name", "shop::handle_order"),
        ])
        .start(tracer);
    let trace_id = root.span_context().trace_id().to_string();
    let root_cx = Context::new().with_span(root);

    let load_user = tracer
        .span_builder("load_user")
        .with_kind(SpanKind::Client)
        .with_start_time(at(1_000))
        .with_attributes([
            KeyValue::new("cached", false),
            KeyValue::new("ratio", 0.5),
            KeyValue::new("ids", Value::Array(Array::I64(vec![1, 2]))),
            KeyValue::new(
                "tags",
                Value::Array(Array::String(vec!["a".into(), "b".into()])),
            ),
        ])
        .start_with_context(tracer, &root_cx);
    let load_cx = Context::new().with_span(load_user);
    let mut select = tracer
        .span_builder("select users")
        .with_start_time(at(1_100))
        .with_attributes([KeyValue::new("db.system", "postgresql")])
        .start_with_context(tracer, &load_cx);

    let mut charge = tracer
        .span_builder("charge")
        .with_start_time(at(2_000))
        .with_attributes([KeyValue::new("amount", 12.5)])
        .start_with_context(tracer, &root_cx);
    charge.add_event_with_timestamp(
        "exception",
        at(14_000),
        vec![
            KeyValue::new("exception.type", "PaymentError"),
            KeyValue::new("exception.message", "card declined"),
            KeyValue::new(
                "exception.stacktrace",
                "0: pay::charge\n   at src/pay.rs:10\n1: main\n",
            ),
        ],
    );
    charge.set_status(Status::error("card declined"));
    // Ends before its earlier-started sibling: the tree must still follow start order.
    charge.end_with_timestamp(at(14_300));
    select.end_with_timestamp(at(1_600));
    load_cx.span().set_status(Status::Ok);
    load_cx.span().end_with_timestamp(at(1_812));
    root_cx.span().end_with_timestamp(at(1_204_000));
    trace_id
}

#[test]
fn finished_trace_prints_as_one_tree_in_start_order() {
    let (provider, tracer, output) = provider(false);
    let trace_id = record_checkout(&tracer);
    let expected = format!(
        "\
trace {trace_id} · checkout
handle_order 1.204s server at src/main.rs:12 http.route=\"/orders/{{id}}\" order.id=42
├─ load_user 812µs client OK cached=false ratio=0.5 ids=[1, 2] tags=[\"a\", \"b\"]
│  └─ select users 500µs db.system=\"postgresql\"
└─ charge 12.3ms ERROR: card declined amount=12.5
      • exception +12.0ms exception.type=\"PaymentError\" exception.message=\"card declined\"
        exception.stacktrace:
          0: pay::charge
             at src/pay.rs:10
          1: main
"
    );
    assert_eq!(output.text(), expected);
    provider.shutdown().unwrap();
    assert_eq!(
        output.text(),
        expected,
        "shutdown has nothing left to print"
    );
}

#[test]
fn nothing_prints_until_the_root_ends() {
    let (provider, tracer, output) = provider(false);
    let root = tracer
        .span_builder("root")
        .with_start_time(at(0))
        .start(&tracer);
    let root_cx = Context::new().with_span(root);
    let mut child = tracer
        .span_builder("child")
        .with_start_time(at(10))
        .start_with_context(&tracer, &root_cx);
    child.end_with_timestamp(at(20));
    assert_eq!(output.text(), "");
    root_cx.span().end_with_timestamp(at(30));
    assert!(
        output.text().ends_with("root 30µs\n└─ child 10µs\n"),
        "{}",
        output.text()
    );
    provider.shutdown().unwrap();
}

#[test]
fn trace_whose_root_never_ends_is_printed_on_shutdown() {
    let (provider, tracer, output) = provider(false);
    let root = tracer
        .span_builder("stuck")
        .with_start_time(at(0))
        .start(&tracer);
    let root_id = root.span_context().span_id();
    let trace_id = root.span_context().trace_id();
    let root_cx = Context::new().with_span(root);
    let mut child = tracer
        .span_builder("step")
        .with_start_time(at(0))
        .start_with_context(&tracer, &root_cx);
    child.end_with_timestamp(at(5_000));
    assert_eq!(output.text(), "");

    provider.shutdown().unwrap();
    assert_eq!(
        output.text(),
        format!("trace {trace_id} · checkout\nstep 5.0ms (parent {root_id})\n")
    );
    drop(root_cx);
}

#[test]
fn span_with_a_remote_parent_is_a_local_root() {
    let (provider, tracer, output) = provider(false);
    let remote = SpanContext::new(
        TraceId::from_hex("4bf92f3577b34da6a3ce929d0e0e4736").unwrap(),
        SpanId::from_hex("00f067aa0ba902b7").unwrap(),
        TraceFlags::SAMPLED,
        true,
        TraceState::default(),
    );
    let parent = Context::new().with_remote_span_context(remote);
    let mut span = tracer
        .span_builder("GET /users")
        .with_kind(SpanKind::Server)
        .with_start_time(at(0))
        .start_with_context(&tracer, &parent);
    span.end_with_timestamp(at(2_500));
    assert_eq!(
        output.text(),
        "trace 4bf92f3577b34da6a3ce929d0e0e4736 · checkout\nGET /users 2.5ms server\n"
    );
    provider.shutdown().unwrap();
}

#[test]
fn child_ending_after_its_printed_parent_is_printed_at_once() {
    let (provider, tracer, output) = provider(false);
    let root = tracer
        .span_builder("request")
        .with_start_time(at(0))
        .start(&tracer);
    let root_id = root.span_context().span_id();
    let root_cx = Context::new().with_span(root);
    let spawned = tracer
        .span_builder("background")
        .with_start_time(at(100))
        .start_with_context(&tracer, &root_cx);
    let spawned_cx = Context::new().with_span(spawned);
    root_cx.span().end_with_timestamp(at(1_000));
    let mut inner = tracer
        .span_builder("inner")
        .with_start_time(at(200))
        .start_with_context(&tracer, &spawned_cx);
    inner.end_with_timestamp(at(300));
    spawned_cx.span().end_with_timestamp(at(5_000));

    let text = output.text();
    let lines: Vec<&str> = text.lines().skip(1).collect();
    assert_eq!(lines[0], "request 1.0ms");
    assert!(lines[1].starts_with("trace "), "{text}");
    assert_eq!(
        &lines[2..],
        [
            format!("background 4.9ms (parent {root_id})").as_str(),
            "└─ inner 100µs"
        ]
    );
    provider.shutdown().unwrap();
}

#[test]
fn full_buffer_prints_the_oldest_trace_early() {
    let (provider, tracer, output) = provider(false);
    let root = tracer
        .span_builder("import")
        .with_start_time(at(0))
        .start(&tracer);
    let root_cx = Context::new().with_span(root);
    for _ in 0..MAX_BUFFERED_SPANS {
        tracer
            .span_builder("row")
            .with_start_time(at(0))
            .start_with_context(&tracer, &root_cx)
            .end_with_timestamp(at(1));
    }
    assert_eq!(output.text(), "");
    tracer
        .span_builder("row")
        .with_start_time(at(0))
        .start_with_context(&tracer, &root_cx)
        .end_with_timestamp(at(1));
    assert_eq!(output.text().lines().count(), 1 + MAX_BUFFERED_SPANS + 1);
    provider.shutdown().unwrap();
}

#[test]
fn long_attribute_lists_move_under_the_span() {
    let (provider, tracer, output) = provider(false);
    let attributes: Vec<KeyValue> = (0..6)
        .map(|i| KeyValue::new(format!("attribute.number.{i}"), "some value"))
        .collect();
    let root = tracer
        .span_builder("root")
        .with_start_time(at(0))
        .start(&tracer);
    let root_cx = Context::new().with_span(root);
    let mut child = tracer
        .span_builder("wide")
        .with_start_time(at(0))
        .with_attributes(attributes)
        .start_with_context(&tracer, &root_cx);
    child.end_with_timestamp(at(1));
    root_cx.span().end_with_timestamp(at(2));
    let text = output.text();
    let lines: Vec<&str> = text.lines().skip(2).collect();
    assert_eq!(
        lines,
        [
            "└─ wide 1µs",
            "      attribute.number.0=\"some value\" attribute.number.1=\"some value\"",
            "      attribute.number.2=\"some value\" attribute.number.3=\"some value\"",
            "      attribute.number.4=\"some value\" attribute.number.5=\"some value\"",
        ]
    );
    provider.shutdown().unwrap();
}

#[test]
fn colour_off_writes_no_escape_codes() {
    let (provider, tracer, output) = provider(false);
    record_checkout(&tracer);
    assert!(!output.text().contains('\x1b'));
    provider.shutdown().unwrap();
}

#[test]
fn colour_on_paints_names_errors_and_attributes() {
    let (provider, tracer, output) = provider(true);
    record_checkout(&tracer);
    let text = output.text();
    assert!(text.contains("\x1b[1mcharge\x1b[0m"), "bold name: {text}");
    assert!(
        text.contains("\x1b[31mERROR: card declined\x1b[0m"),
        "red error: {text}"
    );
    assert!(
        text.contains("\x1b[2mamount=12.5\x1b[0m"),
        "dim attribute: {text}"
    );
    assert!(text.contains("\x1b[32mOK\x1b[0m"), "green ok: {text}");
    provider.shutdown().unwrap();
}

#[test]
fn durations_read_as_humans_write_them() {
    let cases = [
        (Duration::from_nanos(512), "512ns"),
        (Duration::from_micros(812), "812µs"),
        (Duration::from_micros(12_340), "12.3ms"),
        (Duration::from_millis(1_204), "1.204s"),
        (Duration::from_secs(75), "75.000s"),
    ];
    for (duration, text) in cases {
        assert_eq!(format_duration(duration), text);
    }
}

#[test]
fn a_span_whose_remote_parent_is_open_here_prints_in_its_parents_tree() {
    let output = Output::default();
    let exporter = ConsoleExporter::with_writer(Box::new(output.clone()), false);
    let provider = SdkTracerProvider::builder()
        .with_span_processor(super::ConsoleProcessor::new(exporter))
        .build();
    let tracer = provider.tracer("test");

    // A client span in this process; the called service continues it from the header, as a
    // remote parent, and finishes first.
    let client = tracer
        .span_builder("GET")
        .with_kind(SpanKind::Client)
        .start(&tracer);
    let remote = Context::new().with_remote_span_context(client.span_context().clone());
    let mut server = tracer
        .span_builder("GET /stock/{sku}")
        .with_kind(SpanKind::Server)
        .start_with_context(&tracer, &remote);
    server.end();
    assert_eq!(output.text(), "", "waits for its open parent");
    drop(client);

    let text = output.text();
    assert_eq!(text.matches("trace ").count(), 1, "one tree:\n{text}");
    let client_line = text.lines().position(|l| l.starts_with("GET ")).unwrap();
    let server_line = text
        .lines()
        .position(|l| l.contains("└─ GET /stock/{sku}"))
        .unwrap();
    assert!(server_line > client_line, "{text}");

    // A remote parent from another process is a root of its own, printed at once.
    let foreign = Context::new().with_remote_span_context(SpanContext::new(
        TraceId::from(7),
        SpanId::from(9),
        TraceFlags::SAMPLED,
        true,
        TraceState::default(),
    ));
    tracer
        .span_builder("GET /other")
        .start_with_context(&tracer, &foreign)
        .end();
    assert!(output.text().contains("GET /other"));
    let _ = provider.shutdown();
}

#[test]
fn exception_details_wrap_to_the_width_and_a_stacktrace_that_repeats_the_message_is_left_out() {
    let output = Output::default();
    let mut exporter = ConsoleExporter::with_writer(Box::new(output.clone()), false);
    exporter.width = 80;
    let provider = SdkTracerProvider::builder()
        .with_simple_exporter(exporter)
        .build();
    let tracer = provider.tracer("test");
    let message = "the inventory service refused the reservation for sku tea-42 because the \
                   warehouse in Osaka reported zero units on hand at 09:14";
    let mut span = tracer
        .span_builder("reserve")
        .with_start_time(at(0))
        .start(&tracer);
    span.add_event_with_timestamp(
        "exception",
        at(1_000),
        vec![
            KeyValue::new("exception.type", "shop::ReserveError"),
            KeyValue::new("exception.message", message),
            KeyValue::new("exception.stacktrace", message),
        ],
    );
    span.end_with_timestamp(at(2_000));
    let text = output.text();
    let body: Vec<&str> = text.trim_end().lines().skip(1).collect();
    assert_eq!(
        &body,
        &[
            "reserve 2.0ms",
            "   • exception +1.0ms",
            "       exception.type=\"shop::ReserveError\"",
            "       exception.message=\"the inventory service refused the reservation for sku",
            "       tea-42 because the warehouse in Osaka reported zero units on hand at",
            "       09:14\"",
        ],
        "{text}"
    );
    assert!(body.iter().all(|line| line.chars().count() <= 80), "{text}");
    assert!(!text.contains("exception.stacktrace"), "{text}");
    provider.shutdown().unwrap();
}

#[cfg(feature = "logs")]
mod logs {
    use opentelemetry::logs::{AnyValue, LogRecord as _, Logger as _, LoggerProvider as _};
    use opentelemetry::Key;
    use opentelemetry_sdk::logs::{SdkLogger, SdkLoggerProvider};

    use super::*;

    /// Spans and log records on one console, as the pipeline sets it up when both go there.
    fn console() -> (
        SdkTracerProvider,
        SdkTracer,
        SdkLoggerProvider,
        SdkLogger,
        Output,
    ) {
        let output = Output::default();
        let exporter = ConsoleExporter::with_writer(Box::new(output.clone()), false);
        let logs = SdkLoggerProvider::builder()
            .with_log_processor(exporter.log_processor())
            .build();
        let traces = SdkTracerProvider::builder()
            .with_resource(
                Resource::builder_empty()
                    .with_service_name("checkout")
                    .build(),
            )
            .with_span_processor(super::super::ConsoleProcessor::new(exporter))
            .build();
        let tracer = traces.tracer("test");
        let logger = logs.logger("test");
        (traces, tracer, logs, logger, output)
    }

    /// A record as the `tracing` layer emits it: message as the body, fields as attributes.
    fn log(
        logger: &SdkLogger,
        cx: Option<&SpanContext>,
        time: SystemTime,
        severity: &'static str,
        message: &str,
        fields: &[(&'static str, AnyValue)],
    ) {
        let mut record = logger.create_log_record();
        record.set_timestamp(time);
        record.set_severity_text(severity);
        record.set_body(AnyValue::String(message.to_owned().into()));
        for (key, value) in fields {
            record.add_attribute(Key::from_static_str(key), value.clone());
        }
        if let Some(cx) = cx {
            record.set_trace_context(cx.trace_id(), cx.span_id(), Some(cx.trace_flags()));
        }
        logger.emit(record);
    }

    #[test]
    fn records_print_under_their_span_in_time_order_with_its_events() {
        let (traces, tracer, logs, logger, output) = console();
        let root = tracer
            .span_builder("checkout")
            .with_kind(SpanKind::Server)
            .with_start_time(at(0))
            .start(&tracer);
        let trace_id = root.span_context().trace_id();
        let root_cx = Context::new().with_span(root);
        let root_span = root_cx.span().span_context().clone();
        let mut child = tracer
            .span_builder("charge")
            .with_start_time(at(1_000))
            .start_with_context(&tracer, &root_cx);
        let child_span = child.span_context().clone();
        log(
            &logger,
            Some(&root_span),
            at(500),
            "INFO",
            "order checked out",
            &[("order.id", AnyValue::Int(42)), ("user", "ann".into())],
        );
        log(
            &logger,
            Some(&child_span),
            at(1_500),
            "WARN",
            "card retried",
            &[],
        );
        // The `tracing` layer records an event as a span event too, at the record's instant:
        // shown once, as the record.
        child.add_event_with_timestamp(
            "card retried",
            at(1_500),
            vec![KeyValue::new("level", "WARN")],
        );
        child.add_event_with_timestamp("gateway answered", at(1_800), vec![]);
        log(
            &logger,
            Some(&child_span),
            at(1_900),
            "ERROR",
            "declined",
            &[],
        );
        assert_eq!(output.text(), "", "records wait for their trace");
        child.end_with_timestamp(at(2_000));
        root_cx.span().end_with_timestamp(at(3_000));

        assert_eq!(
            output.text(),
            format!(
                "\
trace {trace_id} · checkout
checkout 3.0ms server
│  » INFO order checked out +500µs order.id=42 user=\"ann\"
└─ charge 1.0ms
      » WARN card retried +500µs
      • gateway answered +800µs
      » ERROR declined +900µs
"
            )
        );
        let _ = logs.shutdown();
        let _ = traces.shutdown();
    }

    #[test]
    fn records_outside_a_printed_span_print_on_their_own_line_at_once() {
        let (traces, tracer, logs, logger, output) = console();
        log(
            &logger,
            None,
            at(0),
            "INFO",
            "starting",
            &[("port", AnyValue::Int(8080))],
        );
        assert_eq!(output.text(), "INFO starting port=8080\n");

        // A span this console did not start (a remote parent), and an unsampled one.
        let remote = SpanContext::new(
            TraceId::from(7),
            SpanId::from(9),
            TraceFlags::SAMPLED,
            true,
            TraceState::default(),
        );
        log(&logger, Some(&remote), at(0), "WARN", "from afar", &[]);
        assert!(
            output
                .text()
                .ends_with("WARN [00000000000000000000000000000007 0000000000000009] from afar\n"),
            "{}",
            output.text()
        );
        let unsampled = SpanContext::new(
            TraceId::from(8),
            SpanId::from(10),
            TraceFlags::default(),
            false,
            TraceState::default(),
        );
        log(&logger, Some(&unsampled), at(0), "INFO", "unsampled", &[]);
        assert!(output.text().ends_with("unsampled\n"), "{}", output.text());

        // A span that never ends: its records print at shutdown, after its tree.
        let stuck = tracer.span_builder("stuck").start(&tracer);
        log(
            &logger,
            Some(stuck.span_context()),
            at(0),
            "INFO",
            "still waiting",
            &[],
        );
        assert!(!output.text().contains("still waiting"));
        let _ = logs.shutdown();
        let _ = traces.shutdown();
        assert!(
            output
                .text()
                .lines()
                .any(|line| line.starts_with("INFO [") && line.ends_with("still waiting")),
            "{}",
            output.text()
        );
        drop(stuck);
    }
}
