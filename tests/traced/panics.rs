//! A panic unwinding through a traced function ends its span with status Error and an
//! `exception` event carrying the message; the panic keeps unwinding.

use std::panic;

use crate::support::{capture, event_attr, events, span, string};
use mackerel_trace::opentelemetry::trace::Status;
use mackerel_trace::traced;

#[traced]
fn panics_with_a_message(n: u32) -> u32 {
    if n > 0 {
        panic!("bad n: {n}");
    }
    n
}

#[traced]
fn panics_with_a_str() {
    panic!("static message");
}

#[traced]
fn outer_of_a_panic() {
    panics_with_a_str_inner();
}

#[traced]
fn panics_with_a_str_inner() {
    panic!("inner boom");
}

#[traced]
async fn async_panics() {
    tokio::task::yield_now().await;
    panic!("async boom");
}

fn assert_panic(name: &str, message: &str) {
    let span = span(name);
    assert_eq!(span.status, Status::error(message.to_owned()));
    let exceptions = events(&span, "exception");
    assert_eq!(exceptions.len(), 1);
    assert_eq!(
        event_attr(&exceptions[0], "exception.type"),
        Some(string("panic"))
    );
    assert_eq!(
        event_attr(&exceptions[0], "exception.message"),
        Some(string(message))
    );
}

#[test]
fn panic_sets_error_status_and_exception_event_and_keeps_unwinding() {
    capture();
    let caught = panic::catch_unwind(|| panics_with_a_message(3));
    let payload = caught.expect_err("the panic continues");
    assert_eq!(
        payload.downcast_ref::<String>().map(String::as_str),
        Some("bad n: 3")
    );
    assert_panic("panics_with_a_message", "bad n: 3");
}

#[test]
fn static_str_panics_are_recorded() {
    capture();
    assert!(panic::catch_unwind(panics_with_a_str).is_err());
    assert_panic("panics_with_a_str", "static message");
}

#[test]
fn every_span_a_panic_unwinds_through_records_it() {
    capture();
    assert!(panic::catch_unwind(outer_of_a_panic).is_err());
    assert_panic("panics_with_a_str_inner", "inner boom");
    assert_panic("outer_of_a_panic", "inner boom");
}

#[test]
fn async_panics_are_recorded_when_they_unwind_through_poll() {
    capture();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let joined = runtime.block_on(async { tokio::spawn(async_panics()).await });
    assert!(joined.unwrap_err().is_panic());
    assert_panic("async_panics", "async boom");
}
