//! `#[traced]` on impl blocks: every method as `Type::method`, method options merge (the method
//! wins), `#[traced(skip)]` opts out.

use std::fmt;

use crate::support::{attr, capture, in_own_trace, span, span_in, spans, string};
use mackerel_trace::opentelemetry::trace::SpanKind;
use mackerel_trace::opentelemetry::Value;
use mackerel_trace::traced;

struct Repo<T> {
    items: Vec<T>,
}

#[traced(kind = client)]
impl<T: Clone> Repo<T> {
    fn repo_new() -> Self {
        Repo { items: Vec::new() }
    }

    fn repo_push(&mut self, item: T) -> usize {
        self.items.push(item);
        self.items.len()
    }

    #[traced(kind = server, record(index), name = "repo.get")]
    fn repo_get(&self, index: usize) -> Option<T> {
        self.items.get(index).cloned()
    }

    #[traced(skip)]
    fn repo_skipped(&self) -> usize {
        self.items.len()
    }

    const fn repo_const(&self) -> u8 {
        1
    }

    async fn repo_async(&self) -> usize {
        tokio::task::yield_now().await;
        self.items.len()
    }
}

struct Shown;

#[traced(kind = producer)]
impl fmt::Display for Shown {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("shown")
    }
}

#[test]
fn every_method_is_traced_as_type_method_with_the_block_options() {
    let (pushed, trace) = in_own_trace(|| {
        let mut repo = Repo::<u8>::repo_new();
        repo.repo_push(4)
    });
    assert_eq!(pushed, 1);
    let push = span_in(trace, "Repo::repo_push");
    assert_eq!(push.span_kind, SpanKind::Client);
    assert_eq!(
        attr(&push, "code.function.name"),
        Some(string("traced::impl_blocks::Repo::repo_push"))
    );
    span_in(trace, "Repo::repo_new");
}

#[test]
fn method_options_merge_and_win() {
    capture();
    let mut repo = Repo::repo_new();
    repo.repo_push('a');
    assert_eq!(repo.repo_get(0), Some('a'));
    let get = span("repo.get");
    assert_eq!(get.span_kind, SpanKind::Server);
    assert_eq!(attr(&get, "index"), Some(Value::I64(0)));
    assert_eq!(
        attr(&get, "code.function.name"),
        Some(string("traced::impl_blocks::Repo::repo_get"))
    );
}

#[test]
fn skip_and_const_methods_are_not_traced() {
    capture();
    let repo = Repo::<u8> { items: vec![] };
    assert_eq!(repo.repo_skipped(), 0);
    assert_eq!(repo.repo_const(), 1);
    assert!(spans("Repo::repo_skipped").is_empty());
    assert!(spans("Repo::repo_const").is_empty());
}

#[tokio::test]
async fn async_methods_in_impl_blocks() {
    capture();
    let repo = Repo::<u8> { items: vec![1] };
    assert_eq!(repo.repo_async().await, 1);
    span("Repo::repo_async");
}

#[test]
fn trait_impl_blocks_are_traced() {
    capture();
    assert_eq!(Shown.to_string(), "shown");
    let fmt = span("Shown::fmt");
    assert_eq!(fmt.span_kind, SpanKind::Producer);
}
