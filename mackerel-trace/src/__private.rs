//! What `#[traced]` and `#[main]` expansions call, and nothing else. Not public API.

// ---- #[traced] ----

pub use core;
pub use opentelemetry::trace::SpanKind;

pub use crate::outcome::{
    ErrorOf, PlainParts, RecordDebugError, RecordDisplayError, RecordErrorPointer,
    RecordOpaqueError, RecordStdError, ResultParts, Ret,
};
pub use crate::span::{Attributes, CallSite, Entered, Instrumented, Recorder, Span};

pub use crate::rewrite::{
    branch, call_once, from_residual, typed_future, Branch, Captures, FromResidual,
};

// ---- #[main] ----

pub use crate::guard::main_guard;
