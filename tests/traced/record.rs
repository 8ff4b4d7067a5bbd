//! `record(...)`: only what is named, with sigils and keyed expressions.

use std::cell::Cell;
use std::fmt;

use crate::support::{attr, capture, span, string};
use mackerel_trace::opentelemetry::Value;
use mackerel_trace::traced;

struct User {
    id: u64,
    name: String,
}

#[derive(Debug)]
struct Opts {
    verbose: bool,
}

struct Addr(&'static str);

impl fmt::Display for Addr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "addr:{}", self.0)
    }
}

#[traced]
fn records_nothing_by_default(secret: &str) -> usize {
    secret.len()
}

#[traced(record(id, email))]
fn records_named_arguments(id: u64, email: &str, password: &str) -> usize {
    email.len() + password.len() + usize::try_from(id).unwrap_or(0)
}

#[traced(record(%addr, ?opts))]
fn records_with_sigils(addr: &Addr, opts: Opts) -> bool {
    opts.verbose && !addr.0.is_empty()
}

#[traced(record(user.id = user.id, user.name = %user.name, count = items.len(), constant = 7, dbg = ?items))]
fn records_keyed_expressions(user: &User, items: &[u8]) -> usize {
    items.len() + user.name.len()
}

#[traced(record(r#type, first, total = first + second))]
fn records_raw_and_destructured(r#type: &str, (first, second): (i64, i64)) -> i64 {
    first + second + i64::try_from(r#type.len()).unwrap_or(0)
}

thread_local! {
    static EVALUATED: Cell<u32> = const { Cell::new(0) };
}

fn counted(v: u32) -> u32 {
    EVALUATED.with(|c| c.set(c.get() + 1));
    v
}

#[traced(record(value = counted(v)))]
fn record_expression_counter(v: u32) -> u32 {
    v
}

#[test]
fn nothing_is_recorded_unless_named() {
    capture();
    records_nothing_by_default("hunter2");
    let span = span("records_nothing_by_default");
    assert_eq!(attr(&span, "secret"), None);
    let own: Vec<_> = span
        .attributes
        .iter()
        .filter(|kv| !kv.key.as_str().starts_with("code."))
        .collect();
    assert!(own.is_empty(), "{own:?}");
}

#[test]
fn named_arguments_are_recorded_under_their_names() {
    capture();
    records_named_arguments(42, "a@example.com", "hunter2");
    let span = span("records_named_arguments");
    assert_eq!(attr(&span, "id"), Some(Value::I64(42)));
    assert_eq!(attr(&span, "email"), Some(string("a@example.com")));
    assert_eq!(attr(&span, "password"), None);
}

#[test]
fn percent_records_display_and_question_mark_records_debug() {
    capture();
    records_with_sigils(&Addr("x"), Opts { verbose: true });
    let span = span("records_with_sigils");
    assert_eq!(attr(&span, "addr"), Some(string("addr:x")));
    assert_eq!(attr(&span, "opts"), Some(string("Opts { verbose: true }")));
}

#[test]
fn keyed_entries_record_expressions_over_the_arguments() {
    capture();
    let user = User {
        id: 9,
        name: "ann".to_owned(),
    };
    records_keyed_expressions(&user, &[1, 2, 3]);
    let span = span("records_keyed_expressions");
    assert_eq!(attr(&span, "user.id"), Some(Value::I64(9)));
    assert_eq!(attr(&span, "user.name"), Some(string("ann")));
    assert_eq!(attr(&span, "count"), Some(Value::I64(3)));
    assert_eq!(attr(&span, "constant"), Some(Value::I64(7)));
    assert_eq!(attr(&span, "dbg"), Some(string("[1, 2, 3]")));
}

#[test]
fn raw_and_destructured_arguments_can_be_recorded() {
    capture();
    records_raw_and_destructured("ab", (1, 2));
    let span = span("records_raw_and_destructured");
    assert_eq!(attr(&span, "type"), Some(string("ab")));
    assert_eq!(attr(&span, "first"), Some(Value::I64(1)));
    assert_eq!(attr(&span, "total"), Some(Value::I64(3)));
}

#[test]
fn record_expressions_run_once_when_sampled() {
    capture();
    let before = EVALUATED.with(Cell::get);
    record_expression_counter(5);
    assert_eq!(EVALUATED.with(Cell::get), before + 1);
    let span = span("record_expression_counter");
    assert_eq!(attr(&span, "value"), Some(Value::I64(5)));
}
