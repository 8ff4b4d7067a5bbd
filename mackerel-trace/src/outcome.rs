//! How a traced call ended: `Err` and panics become span status `Error`, `error.type` and an
//! `exception` event.
//!
//! Errors are found by type, not by spelling, with autoref specialisation: the expansion calls
//! `(&Ret(&value)).mackerel_err()` (the `Err` part of any `Result`, nothing for other types), then
//! `(&&&&ErrorOf(err)).mackerel_record_error(span)`, which picks the first level that applies:
//! `std::error::Error` (with the `source()` chain), something that derefs to an error
//! (`Box<dyn Error>`, `anyhow::Error`), `Display`, `Debug`, and finally just the type name.

use std::cell::RefCell;
use std::convert::Infallible;
use std::error::Error;
use std::fmt::{Debug, Display};
use std::ops::Deref;
use std::sync::Once;

use opentelemetry::trace::{SpanRef, Status};
use opentelemetry::{Key, KeyValue, StringValue, Value};

use crate::span::Recorder;
use crate::value::cut_format;

const ERROR_TYPE: Key = Key::from_static_str("error.type");
const EXCEPTION_TYPE: Key = Key::from_static_str("exception.type");
const EXCEPTION_MESSAGE: Key = Key::from_static_str("exception.message");
const EXCEPTION_STACKTRACE: Key = Key::from_static_str("exception.stacktrace");

/// A function's return value, to take the `Ok` or `Err` part of a `Result` apart.
pub struct Ret<'a, T>(pub &'a T);

impl<T> Clone for Ret<'_, T> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<T> Copy for Ret<'_, T> {}

/// For `Result<T, E>`: the `Ok` and `Err` parts.
pub trait ResultParts<'a, T, E> {
    /// The `Ok` value, if any.
    fn mackerel_ok(self) -> Option<&'a T>;
    /// The `Err` value, if any.
    fn mackerel_err(self) -> Option<&'a E>;
}

impl<'a, T, E> ResultParts<'a, T, E> for &Ret<'a, Result<T, E>> {
    fn mackerel_ok(self) -> Option<&'a T> {
        self.0.as_ref().ok()
    }
    fn mackerel_err(self) -> Option<&'a E> {
        self.0.as_ref().err()
    }
}

/// For every other type: the value itself is the "Ok" part, and there is never an error.
pub trait PlainParts<'a, T> {
    /// The value itself.
    fn mackerel_ok(self) -> Option<&'a T>;
    /// Never an error.
    fn mackerel_err(self) -> Option<&'a Infallible>;
}

impl<'a, T> PlainParts<'a, T> for Ret<'a, T> {
    fn mackerel_ok(self) -> Option<&'a T> {
        Some(self.0)
    }
    fn mackerel_err(self) -> Option<&'a Infallible> {
        None
    }
}

/// The error a traced function returned.
pub struct ErrorOf<'a, E>(pub &'a E);

impl<E> Clone for ErrorOf<'_, E> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<E> Copy for ErrorOf<'_, E> {}

/// Level 1: a `std::error::Error`, with its `source()` chain.
pub trait RecordStdError {
    /// Records the error on `span`.
    fn mackerel_record_error(self, span: Recorder<'_>);
}

impl<E: Error> RecordStdError for &&&&ErrorOf<'_, E> {
    fn mackerel_record_error(self, span: Recorder<'_>) {
        record_error_chain(span.span(), std::any::type_name::<E>(), self.0);
    }
}

/// Level 2: a pointer to an error, such as `Box<dyn Error>` or `anyhow::Error`.
pub trait RecordErrorPointer {
    /// Records the error on `span`.
    fn mackerel_record_error(self, span: Recorder<'_>);
}

impl<E> RecordErrorPointer for &&&ErrorOf<'_, E>
where
    E: Deref,
    E::Target: Error,
{
    fn mackerel_record_error(self, span: Recorder<'_>) {
        record_error_chain(span.span(), std::any::type_name::<E>(), &**self.0);
    }
}

/// Level 3: `Display` only.
pub trait RecordDisplayError {
    /// Records the error on `span`.
    fn mackerel_record_error(self, span: Recorder<'_>);
}

impl<E: Display> RecordDisplayError for &&ErrorOf<'_, E> {
    fn mackerel_record_error(self, span: Recorder<'_>) {
        let message = cut_format(format_args!("{}", self.0));
        record_error(span.span(), std::any::type_name::<E>(), message, None);
    }
}

/// Level 4: `Debug` only.
pub trait RecordDebugError {
    /// Records the error on `span`.
    fn mackerel_record_error(self, span: Recorder<'_>);
}

impl<E: Debug> RecordDebugError for &ErrorOf<'_, E> {
    fn mackerel_record_error(self, span: Recorder<'_>) {
        let message = cut_format(format_args!("{:?}", self.0));
        record_error(span.span(), std::any::type_name::<E>(), message, None);
    }
}

/// Level 5: any error type; the message is the type name.
pub trait RecordOpaqueError {
    /// Records the error on `span`.
    fn mackerel_record_error(self, span: Recorder<'_>);
}

impl<E> RecordOpaqueError for ErrorOf<'_, E> {
    fn mackerel_record_error(self, span: Recorder<'_>) {
        let name = std::any::type_name::<E>();
        record_error(span.span(), name, name.to_owned(), None);
    }
}

fn record_error_chain<E: Error + ?Sized>(span: SpanRef<'_>, type_name: &'static str, error: &E) {
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
fn record_error(
    span: SpanRef<'_>,
    type_name: &'static str,
    message: String,
    stacktrace: Option<String>,
) {
    let type_name = Value::String(StringValue::from(type_name));
    span.set_attribute(KeyValue::new(ERROR_TYPE, type_name.clone()));
    let shared: std::sync::Arc<str> = std::sync::Arc::from(message.as_str());
    let stacktrace = match stacktrace {
        Some(trace) => Value::String(StringValue::from(trace)),
        None => Value::String(StringValue::from(std::sync::Arc::clone(&shared))),
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

thread_local! {
    /// The message of the panic this thread is unwinding from, stashed by the panic hook.
    static PANIC_MESSAGE: RefCell<Option<String>> = const { RefCell::new(None) };
}

/// Installs (once, chained to the previous hook) the hook that stashes each panic's message.
pub(crate) fn install_panic_hook() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            let message = payload_message(info.payload());
            // `try_with`: a panic during thread teardown must not panic again here.
            let _ = PANIC_MESSAGE.try_with(|slot| {
                if let Ok(mut slot) = slot.try_borrow_mut() {
                    *slot = message;
                }
            });
            previous(info);
        }));
    });
}

/// Records the panic this thread is unwinding from on `span`.
pub(crate) fn record_panic(span: &SpanRef<'_>) {
    let message = PANIC_MESSAGE
        .try_with(|slot| slot.try_borrow().ok().and_then(|m| m.clone()))
        .ok()
        .flatten()
        .unwrap_or_else(|| "panic".to_owned());
    record_panic_message(span, message);
}

/// Records a panic caught with `catch_unwind` on `span`, with the message its payload holds.
#[cfg(feature = "tower")]
pub(crate) fn record_panic_payload(span: &SpanRef<'_>, payload: &(dyn std::any::Any + Send)) {
    let message = payload_message(payload).unwrap_or_else(|| "panic".to_owned());
    record_panic_message(span, message);
}

/// The message a panic's payload holds (`panic!` with a literal or with arguments), cut to
/// 4096 bytes.
fn payload_message(payload: &(dyn std::any::Any + Send)) -> Option<String> {
    payload
        .downcast_ref::<&str>()
        .map(|s| cut_format(format_args!("{s}")))
        .or_else(|| {
            payload
                .downcast_ref::<String>()
                .map(|s| cut_format(format_args!("{s}")))
        })
}

fn record_panic_message(span: &SpanRef<'_>, message: String) {
    span.add_event(
        "exception",
        vec![
            KeyValue::new(EXCEPTION_TYPE, "panic"),
            KeyValue::new(EXCEPTION_MESSAGE, message.clone()),
        ],
    );
    span.set_status(Status::error(message));
}

/// Records a failure that has a type and a message but no `Error` value to walk (an HTTP
/// transport error, a service's error): `error.type`, the `exception` event, status `Error`.
#[cfg(feature = "tower")]
pub(crate) fn record_exception(span: SpanRef<'_>, type_name: &'static str, message: String) {
    record_error(span, type_name, message, None);
}

/// Records `error` (with its `source()` chain) as the failure of `span`.
#[cfg(any(feature = "tower", feature = "reqwest"))]
pub(crate) fn record_error_value<E: Error + ?Sized>(
    span: SpanRef<'_>,
    type_name: &'static str,
    error: &E,
) {
    record_error_chain(span, type_name, error);
}
