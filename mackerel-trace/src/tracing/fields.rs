//! `tracing` field values as typed OpenTelemetry attributes.

use opentelemetry::trace::SpanKind;
use opentelemetry::{Key, KeyValue, Value};
use tracing_core::field::{Field, Visit};
use tracing_core::Metadata;

use crate::value::cut_format;

/// A value as `#[traced]` records it: integers as ints (unsigned above `i64::MAX` as their
/// decimal string), strings cut at 4096 bytes.
fn unsigned(value: u128) -> Value {
    match i64::try_from(value) {
        Ok(int) => Value::I64(int),
        Err(_) => Value::String(value.to_string().into()),
    }
}

fn signed(value: i128) -> Value {
    match i64::try_from(value) {
        Ok(int) => Value::I64(int),
        Err(_) => Value::String(value.to_string().into()),
    }
}

fn key(field: &Field) -> Key {
    Key::from_static_str(field.name())
}

/// A span's or an event's fields: typed attributes, and the fields with a meaning of their
/// own — a span's `otel.name` and `otel.kind`, an event's `message`.
#[derive(Default)]
pub(super) struct Fields {
    pub(super) attributes: Vec<KeyValue>,
    pub(super) name: Option<String>,
    pub(super) kind: Option<SpanKind>,
    pub(super) message: Option<String>,
    event: bool,
}

impl Fields {
    /// A span's, with `code.file.path` and `code.line.number` of its callsite.
    pub(super) fn span(meta: &Metadata<'_>) -> Self {
        let mut attributes = Vec::with_capacity(2 + meta.fields().len());
        if let Some(file) = meta.file() {
            attributes.push(KeyValue::new("code.file.path", file.to_owned()));
        }
        if let Some(line) = meta.line() {
            attributes.push(KeyValue::new("code.line.number", i64::from(line)));
        }
        Fields {
            attributes,
            ..Fields::default()
        }
    }

    /// Values recorded on a span after it started.
    pub(super) fn record() -> Self {
        Fields::default()
    }

    /// An event's.
    pub(super) fn event() -> Self {
        Fields {
            event: true,
            ..Fields::default()
        }
    }

    fn push(&mut self, field: &Field, value: Value) {
        self.attributes.push(KeyValue::new(key(field), value));
    }

    /// Text fields: the special names, or a string attribute.
    fn text(&mut self, field: &Field, value: std::fmt::Arguments<'_>) {
        match (self.event, field.name()) {
            (true, "message") => self.message = Some(cut_format(value)),
            (false, "otel.name") => {
                self.name = Some(cut_format(value).trim_matches('"').to_owned());
            }
            (false, "otel.kind") => self.kind = kind(cut_format(value).trim_matches('"')),
            _ => self.push(field, Value::String(cut_format(value).into())),
        }
    }
}

impl Visit for Fields {
    fn record_i64(&mut self, field: &Field, value: i64) {
        self.push(field, Value::I64(value));
    }
    fn record_u64(&mut self, field: &Field, value: u64) {
        self.push(field, unsigned(u128::from(value)));
    }
    fn record_i128(&mut self, field: &Field, value: i128) {
        self.push(field, signed(value));
    }
    fn record_u128(&mut self, field: &Field, value: u128) {
        self.push(field, unsigned(value));
    }
    fn record_f64(&mut self, field: &Field, value: f64) {
        self.push(field, Value::F64(value));
    }
    fn record_bool(&mut self, field: &Field, value: bool) {
        self.push(field, Value::Bool(value));
    }
    fn record_str(&mut self, field: &Field, value: &str) {
        self.text(field, format_args!("{value}"));
    }
    fn record_error(&mut self, field: &Field, value: &(dyn std::error::Error + 'static)) {
        self.push(
            field,
            Value::String(cut_format(format_args!("{value}")).into()),
        );
    }
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        self.text(field, format_args!("{value:?}"));
    }
}

fn kind(value: &str) -> Option<SpanKind> {
    match value.to_ascii_lowercase().as_str() {
        "server" => Some(SpanKind::Server),
        "client" => Some(SpanKind::Client),
        "producer" => Some(SpanKind::Producer),
        "consumer" => Some(SpanKind::Consumer),
        "internal" => Some(SpanKind::Internal),
        _ => None,
    }
}
