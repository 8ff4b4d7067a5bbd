//! What a rewritten `#[traced]` body is built from besides its span: the call wrappers, and `?`
//! for `#[track_caller]` bodies, which cannot be closures.

/// Names lifetimes in an `impl Future` return type so that the future may capture them
/// (edition 2021 captures only lifetimes that appear in the bounds).
pub trait Captures<T: ?Sized> {}

impl<T: ?Sized, U: ?Sized> Captures<T> for U {}

/// Calls the body closure of a sync `#[traced]` function (by value, so an `FnMut` body needs no
/// `mut` binding).
#[inline(always)]
pub fn call_once<R, F: FnOnce() -> R>(body: F) -> R {
    body()
}

/// Fixes the output type of an `async` block, so that `?` inside it knows what to convert into.
#[inline]
pub fn typed_future<R, F: core::future::Future<Output = R>>(future: F) -> F {
    future
}

/// `expr?` in a `#[track_caller]` function body, which is rewritten into a labelled block (no
/// closure, so the caller's location stays the caller's): what `?` would have done, on stable.
pub trait Branch {
    /// The value `?` produces.
    type Output;
    /// What `?` returns early with.
    type Residual;
    /// Splits into continue / return early.
    fn mackerel_branch(self) -> core::ops::ControlFlow<Self::Residual, Self::Output>;
}

impl<T, E> Branch for Result<T, E> {
    type Output = T;
    type Residual = Result<core::convert::Infallible, E>;
    #[inline]
    fn mackerel_branch(self) -> core::ops::ControlFlow<Self::Residual, T> {
        match self {
            Ok(v) => core::ops::ControlFlow::Continue(v),
            Err(e) => core::ops::ControlFlow::Break(Err(e)),
        }
    }
}

impl<T> Branch for Option<T> {
    type Output = T;
    type Residual = Option<core::convert::Infallible>;
    #[inline]
    fn mackerel_branch(self) -> core::ops::ControlFlow<Self::Residual, T> {
        match self {
            Some(v) => core::ops::ControlFlow::Continue(v),
            None => core::ops::ControlFlow::Break(None),
        }
    }
}

/// The early return value `?` builds from a residual.
pub trait FromResidual<R> {
    /// Converts, like `?` does (`From` on the error).
    fn mackerel_from_residual(residual: R) -> Self;
}

impl<T, E, F: From<E>> FromResidual<Result<core::convert::Infallible, E>> for Result<T, F> {
    #[inline]
    #[track_caller]
    fn mackerel_from_residual(residual: Result<core::convert::Infallible, E>) -> Self {
        match residual {
            Err(e) => Err(From::from(e)),
            Ok(never) => match never {},
        }
    }
}

impl<T> FromResidual<Option<core::convert::Infallible>> for Option<T> {
    #[inline]
    fn mackerel_from_residual(_: Option<core::convert::Infallible>) -> Self {
        None
    }
}

/// `Branch::mackerel_branch`, callable as a function.
#[inline]
pub fn branch<T: Branch>(value: T) -> core::ops::ControlFlow<T::Residual, T::Output> {
    value.mackerel_branch()
}

/// `FromResidual::mackerel_from_residual`, callable as a function.
#[inline]
#[track_caller]
pub fn from_residual<T: FromResidual<R>, R>(residual: R) -> T {
    T::mackerel_from_residual(residual)
}
