#![deny(warnings)]

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use mackerel_trace::traced;

#[traced(record(n), ret)]
async fn async_fn(n: u8, text: &str) -> Result<usize, std::io::Error> {
    Ok(text.len() + usize::from(n))
}

#[traced]
fn impl_future(n: u8) -> impl Future<Output = u8> {
    async move { n }
}

#[traced]
fn boxed_future<'a>(s: &'a str) -> Pin<Box<dyn Future<Output = usize> + Send + 'a>> {
    Box::pin(async move { s.len() })
}

#[traced]
async fn returns_impl_trait() -> impl Iterator<Item = u8> {
    0..3
}

struct S<'a> {
    name: &'a str,
}

impl<'a> S<'a> {
    #[traced]
    async fn method(&self, other: &str) -> usize {
        self.name.len() + other.len()
    }

    #[traced]
    async fn generic<T: Send>(&mut self, t: T) -> T {
        t
    }
}

// On the block, the impl's lifetimes are known, so an owned receiver works too.
#[traced]
impl<'a> S<'a> {
    async fn by_arc(self: Arc<Self>) -> usize {
        self.name.len()
    }

    async fn from_name(name: &'a str) -> S<'a> {
        S { name }
    }
}

trait Native {
    async fn required(&self) -> u8;

    #[traced]
    async fn provided(&self) -> u8 {
        1
    }
}

impl Native for S<'_> {
    #[traced]
    async fn required(&self) -> u8 {
        self.provided().await
    }
}

fn assert_send<T: Send>(_: T) {}

fn main() {
    let s = S { name: "x" };
    assert_send(async_fn(1, "x"));
    assert_send(impl_future(1));
    assert_send(boxed_future("x"));
    assert_send(returns_impl_trait());
    assert_send(s.method("y"));
    assert_send(Arc::new(S { name: "x" }).by_arc());
    let mut s2 = S { name: "x" };
    assert_send(s2.generic(1));
    assert_send(s.required());
    assert_send(S::from_name("n"));
}
