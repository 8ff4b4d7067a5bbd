//! Panics inside traced code: a hook that keeps each panic's message, and the `exception`
//! event it becomes on the span that unwinds.

use std::cell::RefCell;
use std::sync::Once;

use opentelemetry::trace::{SpanRef, Status};
use opentelemetry::KeyValue;

use crate::exception::{EXCEPTION_MESSAGE, EXCEPTION_TYPE};
use crate::value::cut_format;

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
#[cfg(any(feature = "tower", feature = "actix", feature = "lambda"))]
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
