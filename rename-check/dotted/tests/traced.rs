//! `#[mackerel::traced]` reaches the crate renamed with dotted keys, in the library and here.

use mackerel::testing::SpanCapture;

#[mackerel::traced(name = "rename.dotted")]
fn traced_here() {}

#[test]
fn spans_are_recorded_through_the_renamed_crate() {
    let capture = SpanCapture::install();
    traced_here();
    assert_eq!(mackerel_trace_rename_dotted::checkout(1), 2);
    assert_eq!(capture.spans_named("rename.dotted").len(), 1);
    assert_eq!(capture.spans_named("checkout").len(), 1);
}
