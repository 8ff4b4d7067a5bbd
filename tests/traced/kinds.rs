//! `kind = ...` sets the span kind; the default is internal.

use crate::support::{capture, span};
use mackerel_trace::opentelemetry::trace::SpanKind;
use mackerel_trace::traced;

#[traced]
fn kind_default() {}
#[traced(kind = server)]
fn kind_server() {}
#[traced(kind = client)]
fn kind_client() {}
#[traced(kind = producer)]
fn kind_producer() {}
#[traced(kind = consumer)]
fn kind_consumer() {}
#[traced(kind = internal)]
fn kind_internal() {}

#[test]
fn kind_option_sets_the_span_kind() {
    capture();
    kind_default();
    kind_server();
    kind_client();
    kind_producer();
    kind_consumer();
    kind_internal();
    assert_eq!(span("kind_default").span_kind, SpanKind::Internal);
    assert_eq!(span("kind_server").span_kind, SpanKind::Server);
    assert_eq!(span("kind_client").span_kind, SpanKind::Client);
    assert_eq!(span("kind_producer").span_kind, SpanKind::Producer);
    assert_eq!(span("kind_consumer").span_kind, SpanKind::Consumer);
    assert_eq!(span("kind_internal").span_kind, SpanKind::Internal);
}
