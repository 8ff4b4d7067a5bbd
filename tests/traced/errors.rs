//! `Err` → status Error, `error.type`, one `exception` event; detected by type, not spelling.

use std::fmt;
use std::io;

use crate::support::{attr, capture, event_attr, events, span, string};
use mackerel_trace::opentelemetry::trace::Status;
use mackerel_trace::opentelemetry_sdk::trace::SpanData;
use mackerel_trace::traced;

#[derive(Debug)]
struct Outer(Inner);

#[derive(Debug)]
struct Inner;

impl fmt::Display for Outer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("outer failed")
    }
}

impl fmt::Display for Inner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("inner cause")
    }
}

impl std::error::Error for Outer {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.0)
    }
}

impl std::error::Error for Inner {}

struct DisplayOnly;

impl fmt::Display for DisplayOnly {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("display only")
    }
}

#[derive(Debug)]
struct DebugOnly;

struct Neither;

type Alias<T> = Result<T, Outer>;

#[traced]
fn fails_with_a_chain() -> Result<(), Outer> {
    Err(Outer(Inner))
}

#[traced]
fn succeeds() -> Result<u8, Outer> {
    Ok(1)
}

#[traced]
fn io_alias() -> io::Result<()> {
    Err(io::Error::other("disk on fire"))
}

#[traced]
fn own_alias() -> Alias<()> {
    Err(Outer(Inner))
}

#[traced]
fn anyhow_error() -> anyhow::Result<()> {
    let error = anyhow::Error::new(Inner).context("while loading");
    Err(error)
}

#[traced]
fn anyhow_bail() -> anyhow::Result<u8> {
    anyhow::bail!("bailed out")
}

#[traced]
fn boxed_error() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    Err(Box::new(Outer(Inner)))
}

#[traced]
fn display_only() -> Result<(), DisplayOnly> {
    Err(DisplayOnly)
}

#[traced]
fn debug_only() -> Result<(), DebugOnly> {
    Err(DebugOnly)
}

#[traced]
fn neither() -> Result<(), Neither> {
    Err(Neither)
}

#[traced]
fn question_mark(fail: bool) -> Result<u8, Outer> {
    let value: Result<u8, Outer> = if fail { Err(Outer(Inner)) } else { Ok(2) };
    let v = value?;
    Ok(v + 1)
}

#[traced]
fn early_return(fail: bool) -> Result<u8, Outer> {
    if fail {
        return Err(Outer(Inner));
    }
    Ok(0)
}

#[traced]
fn not_a_result() -> Option<u8> {
    None
}

#[traced]
fn generic_error<E: std::error::Error>(e: E) -> Result<(), E> {
    Err(e)
}

fn exception(span: &SpanData) -> mackerel_trace::opentelemetry::trace::Event {
    let exceptions = events(span, "exception");
    assert_eq!(exceptions.len(), 1, "{:?}", span.events);
    exceptions.into_iter().next().unwrap()
}

fn assert_error(span: &SpanData, type_name: &str, message: &str, stacktrace: &str) {
    assert_eq!(span.status, Status::error(message.to_owned()));
    assert_eq!(attr(span, "error.type"), Some(string(type_name)));
    let event = exception(span);
    assert_eq!(
        event_attr(&event, "exception.type"),
        Some(string(type_name))
    );
    assert_eq!(
        event_attr(&event, "exception.message"),
        Some(string(message))
    );
    assert_eq!(
        event_attr(&event, "exception.stacktrace"),
        Some(string(stacktrace))
    );
}

#[test]
fn err_sets_error_status_error_type_and_exception_event_with_the_source_chain() {
    capture();
    assert!(fails_with_a_chain().is_err());
    assert_error(
        &span("fails_with_a_chain"),
        "traced::errors::Outer",
        "outer failed",
        "outer failed\ncaused by: inner cause",
    );
}

#[test]
fn ok_leaves_the_status_unset() {
    capture();
    assert_eq!(succeeds().ok(), Some(1));
    let span = span("succeeds");
    assert_eq!(span.status, Status::Unset);
    assert!(span.events.is_empty());
    assert_eq!(attr(&span, "error.type"), None);
}

#[test]
fn aliases_count_as_results() {
    capture();
    let _ = io_alias();
    assert_error(
        &span("io_alias"),
        "std::io::error::Error",
        "disk on fire",
        "disk on fire",
    );
    let _ = own_alias();
    assert_error(
        &span("own_alias"),
        "traced::errors::Outer",
        "outer failed",
        "outer failed\ncaused by: inner cause",
    );
}

#[test]
fn anyhow_errors_keep_their_chain() {
    capture();
    let _ = anyhow_error();
    assert_error(
        &span("anyhow_error"),
        "anyhow::Error",
        "while loading",
        "while loading\ncaused by: inner cause",
    );
}

#[test]
fn anyhow_bail_inside_a_macro_is_still_seen() {
    capture();
    let _ = anyhow_bail();
    assert_error(
        &span("anyhow_bail"),
        "anyhow::Error",
        "bailed out",
        "bailed out",
    );
}

#[test]
fn boxed_dyn_errors_keep_their_chain() {
    capture();
    let _ = boxed_error();
    assert_error(
        &span("boxed_error"),
        "alloc::boxed::Box<dyn core::error::Error + core::marker::Send + core::marker::Sync>",
        "outer failed",
        "outer failed\ncaused by: inner cause",
    );
}

#[test]
fn display_only_debug_only_and_opaque_errors() {
    capture();
    let _ = display_only();
    assert_error(
        &span("display_only"),
        "traced::errors::DisplayOnly",
        "display only",
        "display only",
    );
    let _ = debug_only();
    assert_error(
        &span("debug_only"),
        "traced::errors::DebugOnly",
        "DebugOnly",
        "DebugOnly",
    );
    let _ = neither();
    assert_error(
        &span("neither"),
        "traced::errors::Neither",
        "traced::errors::Neither",
        "traced::errors::Neither",
    );
}

#[test]
fn question_mark_and_early_return_are_seen() {
    capture();
    assert!(question_mark(true).is_err());
    assert_eq!(question_mark(false).ok(), Some(3));
    let spans = crate::support::spans("question_mark");
    assert_eq!(spans.len(), 2);
    assert!(matches!(spans[0].status, Status::Error { .. }));
    assert_eq!(spans[1].status, Status::Unset);

    assert!(early_return(true).is_err());
    assert!(matches!(span("early_return").status, Status::Error { .. }));
}

#[test]
fn non_result_returns_record_nothing() {
    capture();
    assert_eq!(not_a_result(), None);
    let span = span("not_a_result");
    assert_eq!(span.status, Status::Unset);
    assert!(span.events.is_empty());
}

#[test]
fn generic_errors_use_their_bounds() {
    capture();
    let _ = generic_error(Outer(Inner));
    assert_error(
        &span("generic_error"),
        "traced::errors::Outer",
        "outer failed",
        "outer failed\ncaused by: inner cause",
    );
}
