//! How a failure is written on a span: `error.type`, the `exception` event and status `Error`.

use std::error::Error;
use std::sync::Arc;

use opentelemetry::trace::{SpanRef, Status};
use opentelemetry::{Key, KeyValue, StringValue, Value};

use crate::value::cut_format;

const ERROR_TYPE: Key = Key::from_static_str("error.type");
pub(crate) const EXCEPTION_TYPE: Key = Key::from_static_str("exception.type");
pub(crate) const EXCEPTION_MESSAGE: Key = Key::from_static_str("exception.message");
const EXCEPTION_STACKTRACE: Key = Key::from_static_str("exception.stacktrace");

/// Records `error` as the failure of `span`: its message, and its `source()` chain as the
/// stacktrace when it has one.
pub(crate) fn record_error_chain<E: Error + ?Sized>(
    span: SpanRef<'_>,
    type_name: &'static str,
    error: &E,
) {
    let message = cut_format(format_args!("{error}"));
    let Some(mut source) = error.source() else {
        return record_error(span, type_name, message, None);
    };
    let mut trace = message.clone();
    loop {
        trace.push_str("\ncaused by: ");
        trace.push_str(&cut_format(format_args!("{source}")));
        match source.source() {
            Some(next) => source = next,
            None => break,
        }
    }
    record_error(span, type_name, message, Some(trace));
}

/// Sets `error.type`, the `exception` event and status `Error`. `stacktrace` is `None` when it
/// would only repeat the message (an error without a `source()`): the message's text is then
/// shared by `exception.message` and `exception.stacktrace` instead of copied.
pub(crate) fn record_error(
    span: SpanRef<'_>,
    type_name: impl Into<StringValue>,
    message: String,
    stacktrace: Option<String>,
) {
    let type_name = Value::String(type_name.into());
    span.set_attribute(KeyValue::new(ERROR_TYPE, type_name.clone()));
    let shared: Arc<str> = Arc::from(message.as_str());
    let stacktrace = match stacktrace {
        Some(trace) => Value::String(StringValue::from(trace)),
        None => Value::String(StringValue::from(Arc::clone(&shared))),
    };
    span.add_event(
        "exception",
        vec![
            KeyValue::new(EXCEPTION_TYPE, type_name),
            KeyValue::new(EXCEPTION_MESSAGE, Value::String(StringValue::from(shared))),
            KeyValue::new(EXCEPTION_STACKTRACE, stacktrace),
        ],
    );
    span.set_status(Status::error(message));
}

/// Records a failure that has a type and a message but no `Error` value to walk (an HTTP
/// transport error, a service's error): `error.type`, the `exception` event, status `Error`.
#[cfg(any(feature = "tower", feature = "actix"))]
pub(crate) fn record_exception(span: SpanRef<'_>, type_name: &'static str, message: String) {
    record_error(span, type_name, message, None);
}
