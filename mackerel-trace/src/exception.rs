//! How a failure is written on a span: `error.type`, the `exception` event and status `Error`.

use std::error::Error;
use std::sync::Arc;

use opentelemetry::trace::{SpanRef, Status};
use opentelemetry::{Key, KeyValue, StringValue, Value};

use crate::fast::{self, Failure, Text};
use crate::value::cut_format;

pub(crate) const ERROR_TYPE: Key = Key::from_static_str("error.type");
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
    let message = Text::format(format_args!("{error}"));
    let stacktrace = error.source().map(|mut source| {
        let mut trace = message.as_str().to_owned();
        loop {
            trace.push_str("\ncaused by: ");
            trace.push_str(&cut_format(format_args!("{source}")));
            match source.source() {
                Some(next) => source = next,
                None => break trace,
            }
        }
    });
    record_failure(
        span,
        Failure {
            type_name: type_name.into(),
            message,
            stacktrace,
        },
    );
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
    record_failure(
        span,
        Failure {
            type_name: type_name.into(),
            message: Text::from(message),
            stacktrace,
        },
    );
}

/// [`record_error`]'s work. A fast span takes the whole failure with its `error.type`
/// attribute, in one call (see [`fast::with_failure`]); any other span gets the event and the
/// status after it.
fn record_failure(span: SpanRef<'_>, failure: Failure) {
    let error_type = KeyValue::new(ERROR_TYPE, Value::String(failure.type_name.clone()));
    let Some(failure) = fast::with_failure(failure, || span.set_attribute(error_type)) else {
        return;
    };
    let (attributes, message) = failure.into_event();
    span.add_event("exception", attributes);
    span.set_status(Status::error(message));
}

/// The `exception` event's attributes: `exception.stacktrace` repeats the message when there
/// is no chain, sharing its text.
pub(crate) fn exception_attributes(
    type_name: StringValue,
    message: &str,
    stacktrace: Option<String>,
) -> [KeyValue; 3] {
    let shared: Arc<str> = Arc::from(message);
    let stacktrace = match stacktrace {
        Some(trace) => StringValue::from(trace),
        None => StringValue::from(Arc::clone(&shared)),
    };
    [
        KeyValue::new(EXCEPTION_TYPE, Value::String(type_name)),
        KeyValue::new(EXCEPTION_MESSAGE, Value::String(StringValue::from(shared))),
        KeyValue::new(EXCEPTION_STACKTRACE, Value::String(stacktrace)),
    ]
}

/// Records a failure that has a type and a message but no `Error` value to walk (an HTTP
/// transport error, a service's error): `error.type`, the `exception` event, status `Error`.
#[cfg(any(feature = "tower", feature = "actix"))]
pub(crate) fn record_exception(span: SpanRef<'_>, type_name: &'static str, message: String) {
    record_error(span, type_name, message, None);
}
