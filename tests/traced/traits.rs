//! Traits: native `async fn` in traits and their impls, and `#[async_trait]` in both orders.

use std::sync::Arc;

use crate::support::{assert_child_of, attr, capture, span, string};
use async_trait::async_trait;
use mackerel_trace::opentelemetry::trace::Status;
use mackerel_trace::opentelemetry::Value;
use mackerel_trace::traced;

trait Native {
    async fn native_required(&self, n: u8) -> u8;

    #[traced]
    async fn native_default(&self) -> u8 {
        tokio::task::yield_now().await;
        1
    }
}

struct Impl;

impl Native for Impl {
    #[traced(record(n))]
    async fn native_required(&self, n: u8) -> u8 {
        tokio::task::yield_now().await;
        self.native_default().await + n
    }
}

#[async_trait]
trait Boxed {
    async fn boxed_method_attr(&self, n: u8) -> Result<u8, std::io::Error>;
    async fn boxed_block_outer(&self) -> u8;
    async fn boxed_block_inner(self: Arc<Self>) -> u8;
}

struct Methods;

// `#[traced]` on the method: async_trait runs first and `#[traced]` sees its `Box::pin(async ..)`.
#[async_trait]
impl Boxed for Methods {
    #[traced(record(n))]
    async fn boxed_method_attr(&self, n: u8) -> Result<u8, std::io::Error> {
        tokio::task::yield_now().await;
        if n == 0 {
            return Err(std::io::Error::other("zero"));
        }
        Ok(n)
    }

    async fn boxed_block_outer(&self) -> u8 {
        0
    }

    async fn boxed_block_inner(self: Arc<Self>) -> u8 {
        0
    }
}

struct OuterOrder;

// `#[traced]` outside `#[async_trait]`: it runs first and leaves the methods to async_trait.
#[traced]
#[async_trait]
impl Boxed for OuterOrder {
    async fn boxed_method_attr(&self, n: u8) -> Result<u8, std::io::Error> {
        Ok(n)
    }

    #[traced(ret)]
    async fn boxed_block_outer(&self) -> u8 {
        tokio::task::yield_now().await;
        inner_call().await
    }

    async fn boxed_block_inner(self: Arc<Self>) -> u8 {
        0
    }
}

struct InnerOrder;

// `#[traced]` inside `#[async_trait]`: async_trait runs first, on the whole block.
#[async_trait]
#[traced]
impl Boxed for InnerOrder {
    async fn boxed_method_attr(&self, n: u8) -> Result<u8, std::io::Error> {
        Ok(n)
    }

    async fn boxed_block_outer(&self) -> u8 {
        0
    }

    async fn boxed_block_inner(self: Arc<Self>) -> u8 {
        tokio::task::yield_now().await;
        inner_call().await
    }
}

#[traced]
async fn inner_call() -> u8 {
    3
}

fn assert_send<T: Send>(_: &T) {}

#[tokio::test]
async fn native_async_fn_in_traits_and_impls() {
    capture();
    assert_eq!(Impl.native_required(2).await, 3);
    let required = span("native_required");
    assert_eq!(attr(&required, "n"), Some(Value::I64(2)));
    assert_child_of(&span("native_default"), &required);
}

#[tokio::test]
async fn async_trait_methods_with_their_own_attribute() {
    capture();
    let future = Methods.boxed_method_attr(0);
    assert_send(&future);
    assert!(future.await.is_err());
    let span = span("boxed_method_attr");
    assert_eq!(attr(&span, "n"), Some(Value::I64(0)));
    assert_eq!(span.status, Status::error("zero"));
}

#[tokio::test]
async fn async_trait_under_a_traced_impl_block_outer_order() {
    capture();
    assert_eq!(OuterOrder.boxed_block_outer().await, 3);
    let outer = span("OuterOrder::boxed_block_outer");
    assert_eq!(attr(&outer, "return.value"), Some(Value::I64(3)));
    assert_eq!(
        attr(&outer, "code.function.name"),
        Some(string("traced::traits::OuterOrder::boxed_block_outer"))
    );
    let inner = crate::support::spans("inner_call");
    assert!(inner
        .iter()
        .any(|s| s.parent_span_id == outer.span_context.span_id()));
}

#[tokio::test]
async fn async_trait_under_a_traced_impl_block_inner_order() {
    capture();
    assert_eq!(Arc::new(InnerOrder).boxed_block_inner().await, 3);
    let outer = span("InnerOrder::boxed_block_inner");
    let inner = crate::support::spans("inner_call");
    assert!(inner
        .iter()
        .any(|s| s.parent_span_id == outer.span_context.span_id()));
}
