//! `async fn` and `fn -> impl Future`: the span starts at the call, is current on every poll, and
//! ends when the future completes, or is dropped unfinished (with a `cancelled` event).

use std::future::Future;
use std::time::Duration;

use crate::support::{assert_child_of, attr, capture, events, span};
use mackerel_trace::opentelemetry::trace::{Status, TraceContextExt as _};
use mackerel_trace::opentelemetry::{Context, Value};
use mackerel_trace::traced;

#[traced]
async fn async_child() -> u8 {
    tokio::task::yield_now().await;
    7
}

#[traced(record(n))]
async fn async_parent(n: u8) -> u8 {
    tokio::task::yield_now().await;
    async_child().await + n
}

#[traced]
async fn borrows_arguments(text: &str, items: &mut Vec<u8>) -> usize {
    tokio::task::yield_now().await;
    items.push(1);
    text.len() + items.len()
}

#[traced]
async fn async_question_mark(fail: bool) -> Result<u8, std::io::Error> {
    let value: Result<u8, std::io::Error> = if fail {
        Err(std::io::Error::other("nope"))
    } else {
        Ok(1)
    };
    Ok(value? + 1)
}

#[traced]
async fn async_early_return(fail: bool) -> Result<(), std::io::Error> {
    if fail {
        return Err(std::io::Error::other("early"));
    }
    tokio::task::yield_now().await;
    Ok(())
}

#[traced]
async fn never_finishes() {
    tokio::time::sleep(Duration::from_secs(3600)).await;
}

#[traced]
fn returns_impl_future(n: u8) -> impl Future<Output = u8> {
    let doubled = n * 2;
    async move {
        tokio::task::yield_now().await;
        async_child_of_impl_future().await + doubled
    }
}

#[traced]
async fn async_child_of_impl_future() -> u8 {
    0
}

#[traced]
async fn spawned_child() -> bool {
    Context::current().span().span_context().is_valid()
}

#[traced]
async fn spawner() {
    let handle = tokio::spawn(spawned_child());
    assert!(handle.await.unwrap());
}

#[traced(ret)]
async fn async_ret() -> u32 {
    5
}

#[traced]
async fn send_check(text: &str, items: &mut Vec<u8>) -> usize {
    tokio::task::yield_now().await;
    items.push(1);
    text.len()
}

#[traced]
fn send_check_impl_future() -> impl Future<Output = ()> {
    async {}
}

#[traced]
#[allow(clippy::unused_async)]
async fn not_send_check() {
    let not_send = std::rc::Rc::new(1);
    tokio::task::yield_now().await;
    drop(not_send);
}

fn assert_send<T: Send>(_: &T) {}

#[tokio::test]
async fn nested_async_calls_form_a_tree_and_record_at_call_time() {
    capture();
    assert_eq!(async_parent(1).await, 8);
    let parent = span("async_parent");
    let child = span("async_child");
    assert_child_of(&child, &parent);
    assert_eq!(attr(&parent, "n"), Some(Value::I64(1)));
    assert!(parent.end_time >= child.end_time);
}

#[tokio::test]
async fn the_span_starts_when_called_not_when_first_polled() {
    capture();
    let future = async_ret();
    tokio::time::sleep(Duration::from_millis(20)).await;
    assert_eq!(future.await, 5);
    let span = span("async_ret");
    let lasted = span.end_time.duration_since(span.start_time).unwrap();
    assert!(lasted >= Duration::from_millis(20), "{lasted:?}");
    assert_eq!(attr(&span, "return.value"), Some(Value::I64(5)));
}

#[tokio::test]
async fn borrowed_arguments_work() {
    capture();
    let mut items = vec![];
    assert_eq!(borrows_arguments("ab", &mut items).await, 3);
    span("borrows_arguments");
}

#[tokio::test]
async fn question_mark_and_early_return_in_async_fns_set_the_error() {
    capture();
    assert!(async_question_mark(true).await.is_err());
    assert!(matches!(
        span("async_question_mark").status,
        Status::Error { .. }
    ));
    assert!(async_early_return(true).await.is_err());
    assert!(matches!(
        span("async_early_return").status,
        Status::Error { .. }
    ));
}

#[tokio::test]
async fn dropping_an_unfinished_future_ends_the_span_as_cancelled() {
    capture();
    let result = tokio::time::timeout(Duration::from_millis(10), never_finishes()).await;
    assert!(result.is_err());
    let span = span("never_finishes");
    assert_eq!(events(&span, "cancelled").len(), 1);
    assert_eq!(span.status, Status::Unset);
}

#[tokio::test]
async fn impl_future_bodies_are_instrumented_for_the_whole_future() {
    capture();
    let future = returns_impl_future(2);
    assert_eq!(future.await, 4);
    let parent = span("returns_impl_future");
    let child = span("async_child_of_impl_future");
    assert_child_of(&child, &parent);
}

#[tokio::test]
async fn spawned_futures_stay_children_of_the_caller() {
    capture();
    spawner().await;
    assert_child_of(&span("spawned_child"), &span("spawner"));
}

#[test]
fn futures_are_send_when_the_body_is() {
    let mut items = vec![];
    assert_send(&send_check("x", &mut items));
    assert_send(&send_check_impl_future());
    // `not_send_check` holds an `Rc` across an await: its future must not become `Send`.
    let future = not_send_check();
    assert!(!implements_send!(&future));
    assert!(implements_send!(&send_check_impl_future()));
}

/// Whether the expression's type is `Send`, decided at compile time by autoref specialisation
/// (it must see the concrete type, so it is a macro).
macro_rules! implements_send {
    ($value:expr) => {{
        #[allow(dead_code)]
        struct Probe<'a, T>(&'a T);
        #[allow(dead_code)]
        trait IsSend {
            fn is_send(&self) -> bool {
                true
            }
        }
        impl<T: Send> IsSend for Probe<'_, T> {}
        #[allow(dead_code)]
        trait NotSend {
            fn is_send(&self) -> bool {
                false
            }
        }
        impl<T> NotSend for &Probe<'_, T> {}
        (&Probe($value)).is_send()
    }};
}
use implements_send;
