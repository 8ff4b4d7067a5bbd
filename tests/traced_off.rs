//! Cheap when off: with no provider installed, or a span that is not sampled, no `record(...)`
//! expression runs and the function still behaves.
//!
//! One test, run in order: the installed provider is process-wide.

use std::cell::Cell;

use mackerel_trace::opentelemetry_sdk::trace::{Sampler, SdkTracerProvider};
use mackerel_trace::testing::SpanCapture;
use mackerel_trace::traced;

thread_local! {
    static EVALUATED: Cell<u32> = const { Cell::new(0) };
}

fn counted(v: u32) -> u32 {
    EVALUATED.with(|c| c.set(c.get() + 1));
    v
}

#[traced(record(value = counted(v), shown = %counted(v), debugged = ?counted(v)), ret)]
fn off_work(v: u32) -> Result<u32, std::io::Error> {
    if v == 0 {
        return Err(std::io::Error::other("zero"));
    }
    Ok(v)
}

#[test]
fn nothing_is_evaluated_without_a_provider_or_when_not_sampled() {
    // No provider installed: the call is one branch; the record expressions never run.
    assert_eq!(off_work(1).ok(), Some(1));
    assert!(off_work(0).is_err());
    assert_eq!(EVALUATED.with(Cell::get), 0);

    // A provider that samples nothing.
    let provider = SdkTracerProvider::builder()
        .with_sampler(Sampler::AlwaysOff)
        .build();
    mackerel_trace::set_tracer_provider(provider);
    assert_eq!(off_work(2).ok(), Some(2));
    assert_eq!(EVALUATED.with(Cell::get), 0);

    // Sampled: all three run once each.
    let capture = SpanCapture::install();
    assert_eq!(off_work(3).ok(), Some(3));
    assert_eq!(EVALUATED.with(Cell::get), 3);
    assert_eq!(capture.spans_named("off_work").len(), 1);
}
