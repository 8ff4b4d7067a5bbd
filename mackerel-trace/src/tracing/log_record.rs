//! A `tracing` event as an OpenTelemetry log record (feature `logs`), shaped for Mackerel:
//! its time and observed time, severity number and text, the trace context of the span current
//! where it happened, and a body that is a map of `message` and the event's fields as typed
//! values (Mackerel's log search filters on the fields of a structured body, not on record
//! attributes).

use std::collections::HashMap;
use std::fmt;
use std::time::SystemTime;

use opentelemetry::logs::{AnyValue, LogRecord as _, Logger as _, Severity};
use opentelemetry::trace::TraceContextExt as _;
use opentelemetry::{Context, Key};
use opentelemetry_sdk::logs::SdkLogger;
use tracing_core::field::{Field, Visit};
use tracing_core::{Event, Level};

use crate::value::{cut_format, cut_str};

/// Emits `event` as a log record on `logger`, linked to the span current in `cx`.
pub(super) fn emit(logger: &SdkLogger, event: &Event<'_>, cx: &Context) {
    let meta = event.metadata();
    let now = SystemTime::now();
    let mut record = logger.create_log_record();
    record.set_timestamp(now);
    record.set_observed_timestamp(now);
    let (number, text) = severity(*meta.level());
    record.set_severity_number(number);
    record.set_severity_text(text);
    record.set_target(meta.target());
    let mut body = Body(HashMap::with_capacity(1 + meta.fields().len()));
    event.record(&mut body);
    record.set_body(AnyValue::Map(Box::new(body.0)));
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

/// The body map: every field of the event, typed as `#[traced]` types attribute values.
struct Body(HashMap<Key, AnyValue>);

impl Body {
    fn put(&mut self, field: &Field, value: AnyValue) {
        let name = field.name();
        // `tracing-log` adds where a `log` record came from: not part of what was logged.
        if name.starts_with("log.") {
            return;
        }
        self.0.insert(Key::from_static_str(name), value);
    }
}

impl Visit for Body {
    fn record_i64(&mut self, field: &Field, value: i64) {
        self.put(field, AnyValue::Int(value));
    }

    fn record_u64(&mut self, field: &Field, value: u64) {
        let value = match i64::try_from(value) {
            Ok(int) => AnyValue::Int(int),
            Err(_) => AnyValue::String(value.to_string().into()),
        };
        self.put(field, value);
    }

    fn record_i128(&mut self, field: &Field, value: i128) {
        let value = match i64::try_from(value) {
            Ok(int) => AnyValue::Int(int),
            Err(_) => AnyValue::String(value.to_string().into()),
        };
        self.put(field, value);
    }

    fn record_u128(&mut self, field: &Field, value: u128) {
        let value = match i64::try_from(value) {
            Ok(int) => AnyValue::Int(int),
            Err(_) => AnyValue::String(value.to_string().into()),
        };
        self.put(field, value);
    }

    fn record_f64(&mut self, field: &Field, value: f64) {
        self.put(field, AnyValue::Double(value));
    }

    fn record_bool(&mut self, field: &Field, value: bool) {
        self.put(field, AnyValue::Boolean(value));
    }

    fn record_str(&mut self, field: &Field, value: &str) {
        self.put(field, AnyValue::String(cut_str(value)));
    }

    fn record_error(&mut self, field: &Field, value: &(dyn std::error::Error + 'static)) {
        self.put(
            field,
            AnyValue::String(cut_format(format_args!("{value}")).into()),
        );
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.put(
            field,
            AnyValue::String(cut_format(format_args!("{value:?}")).into()),
        );
    }
}
