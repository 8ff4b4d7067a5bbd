//! Typed attribute values through `AttributeValue`.

use std::borrow::Cow;

use crate::support::{attr, capture, span, string};
use mackerel_trace::opentelemetry::{Array, Value};
use mackerel_trace::traced;

#[allow(clippy::too_many_arguments)]
#[traced(record(
    small, big, huge, float, flag, text, owned, cow, ints, words, floats, flags, fixed, some, none
))]
fn typed_values(
    small: i8,
    big: u64,
    huge: u128,
    float: f32,
    flag: bool,
    text: &str,
    owned: String,
    cow: Cow<'_, str>,
    ints: &[u16],
    words: Vec<&str>,
    floats: Vec<f64>,
    flags: [bool; 2],
    fixed: [String; 1],
    some: Option<i32>,
    none: Option<i32>,
) {
    let _ = (
        small, big, huge, float, flag, text, owned, cow, ints, words, floats, flags, fixed, some,
        none,
    );
}

#[traced(record(unsigned = u64::MAX, max = i64::MAX, long))]
fn large_values(long: &str) -> usize {
    long.len()
}

#[traced(record(long = %long, debug = ?long))]
fn long_formatted(long: &str) -> usize {
    long.len()
}

#[test]
fn values_keep_their_types() {
    capture();
    typed_values(
        -3,
        5,
        6,
        1.5,
        true,
        "t",
        "o".to_owned(),
        Cow::Borrowed("c"),
        &[1, 2],
        vec!["a", "b"],
        vec![0.5],
        [true, false],
        ["s".to_owned()],
        Some(4),
        None,
    );
    let span = span("typed_values");
    assert_eq!(attr(&span, "small"), Some(Value::I64(-3)));
    assert_eq!(attr(&span, "big"), Some(Value::I64(5)));
    assert_eq!(attr(&span, "huge"), Some(Value::I64(6)));
    assert_eq!(attr(&span, "float"), Some(Value::F64(1.5)));
    assert_eq!(attr(&span, "flag"), Some(Value::Bool(true)));
    assert_eq!(attr(&span, "text"), Some(string("t")));
    assert_eq!(attr(&span, "owned"), Some(string("o")));
    assert_eq!(attr(&span, "cow"), Some(string("c")));
    assert_eq!(
        attr(&span, "ints"),
        Some(Value::Array(Array::I64(vec![1, 2])))
    );
    assert_eq!(
        attr(&span, "words"),
        Some(Value::Array(Array::String(vec!["a".into(), "b".into()])))
    );
    assert_eq!(
        attr(&span, "floats"),
        Some(Value::Array(Array::F64(vec![0.5])))
    );
    assert_eq!(
        attr(&span, "flags"),
        Some(Value::Array(Array::Bool(vec![true, false])))
    );
    assert_eq!(
        attr(&span, "fixed"),
        Some(Value::Array(Array::String(vec!["s".into()])))
    );
    assert_eq!(attr(&span, "some"), Some(Value::I64(4)));
    assert_eq!(attr(&span, "none"), None, "None is omitted");
}

#[test]
fn unsigned_above_i64_max_is_a_decimal_string_and_long_strings_are_cut() {
    capture();
    let long = "é".repeat(5000);
    large_values(&long);
    let span = span("large_values");
    assert_eq!(
        attr(&span, "unsigned"),
        Some(string("18446744073709551615"))
    );
    assert_eq!(attr(&span, "max"), Some(Value::I64(i64::MAX)));
    let Some(Value::String(cut)) = attr(&span, "long") else {
        panic!("long is not a string")
    };
    assert_eq!(cut.as_str().len(), 4096);
    assert!(long.starts_with(cut.as_str()));
}

#[test]
fn display_and_debug_text_is_cut_too() {
    capture();
    let long = "x".repeat(5000);
    long_formatted(&long);
    let span = span("long_formatted");
    let Some(Value::String(display)) = attr(&span, "long") else {
        panic!("not a string")
    };
    assert_eq!(display.as_str().len(), 4096);
    let Some(Value::String(debug)) = attr(&span, "debug") else {
        panic!("not a string")
    };
    assert_eq!(debug.as_str().len(), 4096);
    assert!(debug.as_str().starts_with("\"xxx"));
}
