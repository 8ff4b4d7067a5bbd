//! `#[mackerel::traced]` reaches the crate renamed in a `[dependencies.mackerel]` table, in the
//! library and here.

use mackerel::testing::SpanCapture;

#[mackerel::traced(name = "rename.table")]
fn traced_here() {}

#[test]
fn spans_are_recorded_through_the_renamed_crate() {
    let capture = SpanCapture::install();
    traced_here();
    assert_eq!(mackerel_trace_rename_table::checkout(1), 2);
    assert_eq!(capture.spans_named("rename.table").len(), 1);
    assert_eq!(capture.spans_named("checkout").len(), 1);
}
