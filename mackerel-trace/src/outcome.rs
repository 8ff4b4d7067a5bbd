//! How a traced call ended: `Err` and panics become span status `Error`, `error.type` and an
//! `exception` event.
//!
//! Errors are found by type, not by spelling, with autoref specialisation: the expansion calls
//! `(&Ret(&value)).mackerel_err()` (the `Err` part of any `Result`, nothing for other types), then
//! `(&&&&ErrorOf(err)).mackerel_record_error(span)`, which picks the first level that applies:
//! `std::error::Error` (with the `source()` chain), something that derefs to an error
//! (`Box<dyn Error>`, `anyhow::Error`), `Display`, `Debug`, and finally just the type name.

use std::convert::Infallible;
use std::error::Error;
use std::fmt::{Debug, Display};
use std::ops::Deref;

use crate::exception::{record_error, record_error_chain};
use crate::span::Recorder;
use crate::value::cut_format;

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
