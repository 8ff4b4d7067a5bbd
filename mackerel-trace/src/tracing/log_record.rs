//! A `tracing` event as an OpenTelemetry log record (feature `logs`), shaped for Mackerel:
//! its time and observed time, severity number and text, the trace context of the span current
//! where it happened, and a body that is a map of `message` and the event's fields as typed
//! values (Mackerel's log search filters on the fields of a structured body, not on record
//! attributes).
//!
//! The map is built off the application's thread: the layer emits the message as the body and
//! the fields as attributes (inline in the record, as `opentelemetry-appender-tracing` does),
//! and the export thread folds them into the map body ([`to_map_body`]) before a record is
//! sized and sent. Strings are shared (`Arc<str>`), so the batch queue's copy of a record
//! allocates nothing more.

use std::cell::RefCell;
use std::fmt;
use std::sync::{Arc, OnceLock};
use std::time::SystemTime;

use opentelemetry::logs::{AnyValue, LogRecord as _, Logger as _, LoggerProvider as _, Severity};
use opentelemetry::trace::TraceContextExt as _;
use opentelemetry::{Context, Key, StringValue};
use opentelemetry_sdk::logs::{SdkLogRecord, SdkLogger, SdkLoggerProvider};
use tracing_core::field::{Field, Visit};
use tracing_core::{Event, Level};

use crate::value::{cut_to, format_into, MAX_STRING_BYTES};

/// Emits `event` as a log record on `logger`, linked to the span current in `cx`, and returns
/// its time (which the span event of the same `tracing` event shares).
pub(super) fn emit(logger: &SdkLogger, event: &Event<'_>, cx: &Context) -> SystemTime {
    let meta = event.metadata();
    let now = SystemTime::now();
    let mut record = logger.create_log_record();
    record.set_timestamp(now);
    record.set_observed_timestamp(now);
    let (number, text) = severity(*meta.level());
    record.set_severity_number(number);
    record.set_severity_text(text);
    record.set_target(meta.target());
    event.record(&mut Fields(&mut record));
    let span = cx.span();
    let span_context = span.span_context();
    if span_context.is_valid() {
        record.set_trace_context(
            span_context.trace_id(),
            span_context.span_id(),
            Some(span_context.trace_flags()),
        );
    }
    logger.emit(record);
    now
}

/// `record` as Mackerel reads it: the same record with its message and attributes in one map
/// body. Run by the export thread on the records the layer emitted.
pub(crate) fn to_map_body(record: &SdkLogRecord) -> SdkLogRecord {
    static BLANK: OnceLock<SdkLogger> = OnceLock::new();
    // `SdkLogRecord` has no public constructor: a logger with no processors makes them.
    let blank = BLANK.get_or_init(|| SdkLoggerProvider::builder().build().logger("blank"));
    let mut map = std::collections::HashMap::with_capacity(1 + record.attributes_iter().count());
    match record.body() {
        Some(AnyValue::Map(body)) => map.extend(body.iter().map(|(k, v)| (k.clone(), v.clone()))),
        Some(message) => {
            map.insert(Key::from_static_str("message"), message.clone());
        }
        None => {}
    }
    for (key, value) in record.attributes_iter() {
        map.insert(key.clone(), value.clone());
    }
    let mut out = blank.create_log_record();
    if let Some(time) = record.timestamp() {
        out.set_timestamp(time);
    }
    if let Some(time) = record.observed_timestamp() {
        out.set_observed_timestamp(time);
    }
    if let Some(number) = record.severity_number() {
        out.set_severity_number(number);
    }
    if let Some(text) = record.severity_text() {
        out.set_severity_text(text);
    }
    if let Some(target) = record.target() {
        out.set_target(target.clone());
    }
    if let Some(name) = record.event_name() {
        out.set_event_name(name);
    }
    if let Some(cx) = record.trace_context() {
        out.set_trace_context(cx.trace_id, cx.span_id, cx.trace_flags);
    }
    out.set_body(AnyValue::Map(Box::new(map)));
    out
}

/// The severity number and text of `level`, as OpenTelemetry maps them.
fn severity(level: Level) -> (Severity, &'static str) {
    match level {
        Level::TRACE => (Severity::Trace, "TRACE"),
        Level::DEBUG => (Severity::Debug, "DEBUG"),
        Level::INFO => (Severity::Info, "INFO"),
        Level::WARN => (Severity::Warn, "WARN"),
        Level::ERROR => (Severity::Error, "ERROR"),
    }
}

/// Writes an event's fields into its record: `message` as the body, the others as attributes
/// typed as `#[traced]` types attribute values.
struct Fields<'a>(&'a mut SdkLogRecord);

impl Fields<'_> {
    fn put(&mut self, field: &Field, value: AnyValue) {
        let name = field.name();
        // `tracing-log` adds where a `log` record came from: not part of what was logged.
        if name.starts_with("log.") {
            return;
        }
        self.0.add_attribute(Key::from_static_str(name), value);
    }

    fn text(&mut self, field: &Field, value: StringValue) {
        if field.name() == "message" {
            self.0.set_body(AnyValue::String(value));
        } else {
            self.put(field, AnyValue::String(value));
        }
    }
}

fn integer<T: Copy + fmt::Display + TryInto<i64>>(value: T) -> AnyValue {
    match value.try_into() {
        Ok(int) => AnyValue::Int(int),
        Err(_) => AnyValue::String(value.to_string().into()),
    }
}

impl Visit for Fields<'_> {
    fn record_i64(&mut self, field: &Field, value: i64) {
        self.put(field, AnyValue::Int(value));
    }

    fn record_u64(&mut self, field: &Field, value: u64) {
        self.put(field, integer(value));
    }

    fn record_i128(&mut self, field: &Field, value: i128) {
        self.put(field, integer(value));
    }

    fn record_u128(&mut self, field: &Field, value: u128) {
        self.put(field, integer(value));
    }

    fn record_f64(&mut self, field: &Field, value: f64) {
        self.put(field, AnyValue::Double(value));
    }

    fn record_bool(&mut self, field: &Field, value: bool) {
        self.put(field, AnyValue::Boolean(value));
    }

    fn record_str(&mut self, field: &Field, value: &str) {
        self.text(field, shared(cut_to(value, MAX_STRING_BYTES)));
    }

    fn record_error(&mut self, field: &Field, value: &(dyn std::error::Error + 'static)) {
        self.text(field, shared_format(format_args!("{value}")));
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.text(field, shared_format(format_args!("{value:?}")));
    }
}

/// One allocation of exactly `s`'s length, shared by every copy of the record.
fn shared(s: &str) -> StringValue {
    StringValue::from(Arc::<str>::from(s))
}

thread_local! {
    /// Where messages are formatted before they are shared: reused, so that formatting
    /// allocates nothing.
    static SCRATCH: RefCell<String> = const { RefCell::new(String::new()) };
}

/// `value` formatted, at most [`MAX_STRING_BYTES`] of it, in one shared allocation.
fn shared_format(value: fmt::Arguments<'_>) -> StringValue {
    if let Some(literal) = value.as_str() {
        return shared(cut_to(literal, MAX_STRING_BYTES));
    }
    SCRATCH
        .try_with(|scratch| {
            // A `Debug` impl that logs while it is formatted finds the scratch taken.
            let mut scratch = scratch.try_borrow_mut().ok()?;
            scratch.clear();
            format_into(&mut scratch, value);
            Some(shared(&scratch))
        })
        .ok()
        .flatten()
        .unwrap_or_else(|| {
            let mut text = String::new();
            format_into(&mut text, value);
            shared(&text)
        })
}
