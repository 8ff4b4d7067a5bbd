//! Span names and source location.

use crate::support::{attr, capture, span, string};
use mackerel_trace::opentelemetry::Value;
use mackerel_trace::traced;

#[traced]
fn default_name_is_the_function_name() -> u8 {
    1
}

#[traced]
fn located() {}

#[traced(name = "custom-name")]
fn renamed() {}

#[traced]
fn r#type() {}

struct Store;

impl Store {
    #[traced]
    fn standalone_method(&self) {}
}

#[test]
fn default_span_name_is_the_function_name() {
    capture();
    assert_eq!(default_name_is_the_function_name(), 1);
    let span = span("default_name_is_the_function_name");
    assert_eq!(
        attr(&span, "code.function.name"),
        Some(string("traced::names::default_name_is_the_function_name"))
    );
}

#[test]
fn name_option_sets_the_span_name_but_not_the_function_name() {
    capture();
    renamed();
    let span = span("custom-name");
    assert_eq!(
        attr(&span, "code.function.name"),
        Some(string("traced::names::renamed"))
    );
}

#[test]
fn raw_identifiers_lose_their_prefix() {
    capture();
    r#type();
    let span = span("type");
    assert_eq!(
        attr(&span, "code.function.name"),
        Some(string("traced::names::type"))
    );
}

#[test]
fn a_method_traced_alone_is_named_by_its_function() {
    capture();
    Store.standalone_method();
    span("standalone_method");
}

#[test]
fn source_location_is_the_line_of_the_function_name() {
    capture();
    located();
    let span = span("located");
    assert_eq!(attr(&span, "code.file.path"), Some(string(file!())));
    // `fn located` is on line 13 of this file.
    assert_eq!(attr(&span, "code.line.number"), Some(Value::I64(13)));
    assert_eq!(attr(&span, "code.filepath"), None);
    assert_eq!(attr(&span, "code.lineno"), None);
}
