//! `#[track_caller]` keeps the caller's location: the body is not wrapped in a closure, and
//! `return`/`?` still reach the outcome.

use std::panic::Location;

use crate::support::{attr, capture, span, spans};
use mackerel_trace::opentelemetry::trace::Status;
use mackerel_trace::opentelemetry::Value;
use mackerel_trace::traced;

#[traced]
#[track_caller]
fn where_called() -> &'static Location<'static> {
    Location::caller()
}

#[track_caller]
#[traced(ret)]
fn where_called_with_result(fail: bool) -> Result<u32, std::num::ParseIntError> {
    let line = Location::caller().line();
    if fail {
        let n: u32 = "x".parse()?;
        return Ok(n);
    }
    Ok(line)
}

#[traced]
#[track_caller]
fn track_caller_option(v: Option<u8>) -> Option<u8> {
    let v = v?;
    Some(v + 1)
}

macro_rules! fail_early {
    () => {
        return Err(std::fmt::Error)
    };
}

#[traced]
#[track_caller]
fn returns_inside_a_macro() -> Result<(), std::fmt::Error> {
    fail_early!();
}

#[test]
fn a_return_hidden_in_a_macro_still_ends_the_span() {
    capture();
    assert!(returns_inside_a_macro().is_err());
    // Without a closure the value of a `return` inside a macro is not seen (documented): the
    // span ends through its drop guard, with the status left unset.
    let span = span("returns_inside_a_macro");
    assert_eq!(span.status, Status::Unset);
}

#[test]
fn caller_location_is_the_callers() {
    capture();
    let location = where_called();
    assert_eq!(location.file(), file!());
    assert_eq!(location.line(), line!() - 2);
    span("where_called");
}

#[test]
fn return_and_question_mark_still_reach_the_outcome() {
    capture();
    let line = line!() + 1;
    assert_eq!(where_called_with_result(false).ok(), Some(line));
    assert!(where_called_with_result(true).is_err());
    let all = spans("where_called_with_result");
    assert_eq!(all.len(), 2);
    assert_eq!(
        attr(&all[0], "return.value"),
        Some(Value::I64(i64::from(line)))
    );
    assert!(matches!(all[1].status, Status::Error { .. }));
}

#[test]
fn question_mark_on_option_works() {
    capture();
    assert_eq!(track_caller_option(None), None);
    assert_eq!(track_caller_option(Some(1)), Some(2));
    assert_eq!(spans("track_caller_option").len(), 2);
}
