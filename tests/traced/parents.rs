//! Parenting: nested calls form a tree, the span is current while the function runs, `root`
//! starts a new trace.

use crate::support::{assert_child_of, assert_root, capture, span};
use mackerel_trace::opentelemetry::global;
use mackerel_trace::opentelemetry::trace::{TraceContextExt as _, Tracer as _};
use mackerel_trace::opentelemetry::Context;
use mackerel_trace::traced;

#[traced]
fn tree_parent() {
    tree_child();
    tree_child_two();
}

#[traced]
fn tree_child() {}

#[traced]
fn with_manual_child() {
    global::tracer("manual").in_span("manual_inside_child", |_| {});
}

#[traced]
fn tree_child_two() {}

#[traced(root)]
fn new_root() {}

#[traced]
fn calls_new_root() {
    new_root();
}

#[traced]
fn current_span_is_mine() -> bool {
    Context::current().span().span_context().is_valid()
}

#[test]
fn nested_traced_calls_form_a_tree_in_one_trace() {
    capture();
    tree_parent();
    let parent = span("tree_parent");
    assert_root(&parent);
    assert_child_of(&span("tree_child"), &parent);
    assert_child_of(&span("tree_child_two"), &parent);
}

#[test]
fn manual_spans_inside_see_the_traced_span_as_parent() {
    capture();
    with_manual_child();
    assert_child_of(&span("manual_inside_child"), &span("with_manual_child"));
}

#[test]
fn traced_calls_continue_the_current_manual_span() {
    capture();
    global::tracer("manual").in_span("manual_outer", |_| {
        tree_child_two_under_manual();
    });
    assert_child_of(&span("tree_child_two_under_manual"), &span("manual_outer"));
}

#[traced]
fn tree_child_two_under_manual() {}

#[test]
fn root_starts_a_new_trace() {
    capture();
    calls_new_root();
    let root = span("new_root");
    assert_root(&root);
    assert_ne!(
        root.span_context.trace_id(),
        span("calls_new_root").span_context.trace_id()
    );
}

#[test]
fn the_span_is_current_while_the_function_runs() {
    capture();
    assert!(!Context::current().span().span_context().is_valid());
    assert!(current_span_is_mine());
    assert!(!Context::current().span().span_context().is_valid());
}

#[traced]
fn on_another_thread(n: u32) -> u32 {
    n + 1
}

#[traced]
fn hands_work_to_threads() -> u32 {
    let plain = std::thread::spawn(mackerel_trace::in_current_span(|| on_another_thread(1)));
    let with_argument = std::thread::spawn({
        let run = mackerel_trace::in_current_span_with(on_another_thread);
        move || run(2)
    });
    plain.join().unwrap() + with_argument.join().unwrap()
}

#[traced]
fn spawns_without_in_current_span() {
    std::thread::spawn(|| on_another_thread(3)).join().unwrap();
}

#[test]
fn in_current_span_carries_the_callers_span_to_another_thread() {
    capture();
    assert_eq!(hands_work_to_threads(), 5);
    let parent = span("hands_work_to_threads");
    let children = crate::support::spans("on_another_thread");
    let of_parent: Vec<_> = children
        .iter()
        .filter(|s| s.parent_span_id == parent.span_context.span_id())
        .collect();
    assert_eq!(of_parent.len(), 2, "{children:#?}");
    for child in of_parent {
        assert_child_of(child, &parent);
    }
}

#[test]
fn without_in_current_span_another_thread_starts_a_new_trace() {
    capture();
    spawns_without_in_current_span();
    let parent = span("spawns_without_in_current_span");
    let orphan = crate::support::spans("on_another_thread")
        .into_iter()
        .find(|s| {
            s.span_context.trace_id() != parent.span_context.trace_id()
                && s.parent_span_id == mackerel_trace::opentelemetry::trace::SpanId::INVALID
        });
    assert!(
        orphan.is_some(),
        "the plain thread's span is a root of its own"
    );
}
