//! Hygiene: user code shadowing prelude names, generics, receivers, patterns and `unsafe fn`
//! still compile and behave.

#![deny(warnings)]
#![allow(dead_code)]

use std::sync::Arc;

use crate::support::{capture, span};
use mackerel_trace::traced;

// Shadow every prelude name the expansion could have used.
mod shadowing {
    #![allow(clippy::all)]
    use mackerel_trace::traced;

    pub struct Result;
    pub struct Option;
    pub struct Box;
    pub struct Ok;
    pub struct Err;
    pub struct Some;
    pub struct None;
    pub struct Vec;
    pub struct String;
    pub mod core {}
    pub mod std {}

    #[traced(record(n), ret)]
    pub fn shadowed(n: u8) -> ::core::result::Result<u8, ::std::io::Error> {
        ::core::result::Result::Ok(n)
    }

    #[traced]
    pub async fn shadowed_async(n: u8) -> u8 {
        n
    }
}

#[traced]
fn generic<'a, T, U: Clone>(a: &'a T, b: impl Into<U>) -> (U, &'a T)
where
    T: ?Sized + AsRef<str>,
{
    (b.into(), a)
}

#[traced]
fn returns_impl_trait(n: u8) -> impl Iterator<Item = u8> {
    0..n
}

#[traced]
fn destructured((a, b): (u8, u8), [c, d]: [u8; 2], Wrapper(e): Wrapper) -> u8 {
    a + b + c + d + e
}

struct Wrapper(u8);

/// # Safety
/// None needed; this only checks `unsafe fn` compiles.
#[traced]
unsafe fn unsafe_fn(p: *const u8) -> u8 {
    *p
}

#[traced]
#[must_use]
fn must_use_kept() -> u8 {
    1
}

#[traced]
fn mutable_argument(mut n: u8) -> u8 {
    n += 1;
    n
}

#[traced]
async fn mutable_async_argument(mut n: u8) -> u8 {
    n += 1;
    n
}

#[traced]
fn diverges() -> ! {
    panic!("never returns")
}

struct Receivers(u8);

impl Receivers {
    #[traced]
    fn by_ref(&self) -> &u8 {
        &self.0
    }

    #[traced]
    fn by_mut(&mut self) -> &mut u8 {
        &mut self.0
    }

    #[traced]
    fn by_value(self) -> u8 {
        self.0
    }

    #[traced]
    fn by_arc(self: Arc<Self>) -> u8 {
        self.0
    }

    #[traced]
    async fn async_by_ref(&self, other: &str) -> usize {
        other.len() + usize::from(self.0)
    }
}

#[test]
fn shadowed_prelude_names_compile() {
    capture();
    assert_eq!(shadowing::shadowed(1).ok(), Some(1));
    span("shadowed");
}

#[tokio::test]
async fn every_shape_runs() {
    capture();
    assert_eq!(shadowing::shadowed_async(2).await, 2);
    assert_eq!(generic::<str, String>("x", "y").0, "y");
    assert_eq!(returns_impl_trait(3).count(), 3);
    assert_eq!(destructured((1, 2), [3, 4], Wrapper(5)), 15);
    assert_eq!(unsafe { unsafe_fn(&7) }, 7);
    assert_eq!(must_use_kept(), 1);
    assert_eq!(mutable_argument(1), 2);
    assert_eq!(mutable_async_argument(1).await, 2);
    let mut r = Receivers(1);
    assert_eq!(*r.by_ref(), 1);
    *r.by_mut() = 2;
    assert_eq!(r.async_by_ref("ab").await, 4);
    assert_eq!(Arc::new(Receivers(3)).by_arc(), 3);
    assert_eq!(r.by_value(), 2);
    for name in [
        "shadowed_async",
        "generic",
        "returns_impl_trait",
        "destructured",
        "unsafe_fn",
        "must_use_kept",
        "mutable_argument",
        "mutable_async_argument",
        "by_ref",
        "by_mut",
        "by_value",
        "by_arc",
        "async_by_ref",
    ] {
        span(name);
    }
    assert!(std::panic::catch_unwind(|| diverges()).is_err());
    span("diverges");
}
