//! One function per option and shape. Shared by the edition 2021 and 2024 lint checks.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use mackerel::traced;

/// Every span [`exercise`] produces.
pub const SPAN_NAMES: &[&str] = &[
    "plain",
    "custom-name",
    "server_kind",
    "records",
    "returns",
    "returns_display",
    "returns_debug",
    "root_span",
    "fallible",
    "fallible_anyhow",
    "track_caller_fn",
    "generic",
    "impl_trait",
    "destructured",
    "async_fn",
    "impl_future",
    "boxed_future",
    "Store::get",
    "Store::get_mut",
    "Store::into_inner",
    "Store::shared",
    "Store::load",
    "Native::provided",
    "required",
    "Remote::fetch",
    "fetch_inner",
];

/// A value to record with `%`.
pub struct Shown(pub u8);

impl fmt::Display for Shown {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "shown {}", self.0)
    }
}

/// A value to record with `?`.
#[derive(Debug)]
pub struct Opts {
    /// A flag.
    pub verbose: bool,
}

/// No options.
#[traced]
pub fn plain() {}

/// `name`.
#[traced(name = "custom-name")]
pub fn renamed() {}

/// `kind`.
#[traced(kind = server)]
pub fn server_kind() {}

/// `record` in every form.
#[traced(record(id, %shown, ?opts, user.name = name, len = %name.len(), count = opts.verbose))]
#[must_use]
pub fn records(id: u64, shown: &Shown, opts: &Opts, name: &str) -> usize {
    usize::try_from(id).unwrap_or(0) + name.len() + usize::from(shown.0)
}

/// `ret`.
#[traced(ret)]
#[must_use]
pub fn returns(n: i32) -> i32 {
    n + 1
}

/// `ret(%)`.
#[traced(ret(%))]
#[must_use]
pub fn returns_display() -> Shown {
    Shown(1)
}

/// `ret(?)`, on a `Result`.
///
/// # Errors
/// Never.
#[traced(ret(?))]
pub fn returns_debug() -> Result<Opts, fmt::Error> {
    Ok(Opts { verbose: true })
}

/// `root`, and `crate` given explicitly.
#[traced(root, crate = mackerel)]
pub fn root_span() {}

/// `?` and early return.
///
/// # Errors
/// When `s` is not a number.
#[traced]
pub fn fallible(s: &str) -> Result<u32, std::num::ParseIntError> {
    if s.is_empty() {
        return Ok(0);
    }
    let n: u32 = s.parse()?;
    Ok(n)
}

/// `anyhow::bail!`.
///
/// # Errors
/// Always.
#[traced]
pub fn fallible_anyhow() -> anyhow::Result<()> {
    anyhow::bail!("always")
}

/// `#[track_caller]`.
#[traced]
#[track_caller]
#[must_use]
pub fn track_caller_fn(v: Option<u8>) -> Option<u32> {
    let v = v?;
    Some(std::panic::Location::caller().line() + u32::from(v))
}

/// Generics, `where`, lifetimes.
#[traced]
pub fn generic<'a, T, const N: usize>(items: &'a [T; N]) -> Option<&'a T>
where
    T: fmt::Debug,
{
    items.first()
}

/// `impl Trait` in and out.
#[traced]
pub fn impl_trait(it: impl Iterator<Item = u8>) -> impl Iterator<Item = u8> {
    it.map(|x| x.saturating_add(1))
}

/// Destructured arguments.
#[traced]
#[must_use]
pub fn destructured((a, b): (u8, u8), [c]: [u8; 1]) -> u8 {
    a + b + c
}

/// `unsafe fn`.
///
/// # Safety
/// `p` must be valid for reads.
#[traced]
#[must_use]
pub unsafe fn read(p: *const u8) -> u8 {
    unsafe { *p }
}

/// `async fn` with borrowed arguments and `record`.
#[traced(record(n))]
pub async fn async_fn(n: u8, text: &str) -> usize {
    text.len() + usize::from(n)
}

/// `fn -> impl Future` with a trailing `async` block.
#[traced]
pub fn impl_future(n: u8) -> impl Future<Output = u8> {
    async move { n }
}

/// A boxed future.
#[traced]
#[must_use]
pub fn boxed_future(s: &str) -> Pin<Box<dyn Future<Output = usize> + Send + '_>> {
    Box::pin(async move { s.len() })
}

/// An impl block with every receiver.
pub struct Store {
    value: u8,
}

#[traced(kind = client)]
impl Store {
    /// `&self`.
    #[must_use]
    pub fn get(&self) -> u8 {
        self.value
    }

    /// `&mut self`, returning a borrow.
    pub fn get_mut(&mut self) -> &mut u8 {
        &mut self.value
    }

    /// `self`.
    #[must_use]
    pub fn into_inner(self) -> u8 {
        self.value
    }

    /// `self: Arc<Self>`.
    #[must_use]
    pub fn shared(self: Arc<Self>) -> u8 {
        self.value
    }

    /// `async`.
    pub async fn load(&self) -> u8 {
        self.value
    }

    /// Opted out.
    #[traced(skip)]
    #[must_use]
    pub fn untraced(&self) -> u8 {
        self.value
    }
}

/// Native `async fn` in a trait.
pub trait Native {
    /// Implemented below.
    fn required(&self) -> impl Future<Output = u8> + Send;

    /// Traced default body.
    #[traced(name = "Native::provided")]
    async fn provided(&self) -> u8 {
        1
    }
}

impl Native for Store {
    #[traced]
    async fn required(&self) -> u8 {
        self.value
    }
}

/// `#[async_trait]`.
#[async_trait::async_trait]
pub trait Fetch {
    /// Implemented below.
    async fn fetch(&self, id: u64) -> anyhow::Result<u64>;
    /// Implemented below.
    async fn fetch_inner(&self) -> u64;
}

/// Implements [`Fetch`].
pub struct Remote;

#[traced(kind = client)]
#[async_trait::async_trait]
impl Fetch for Remote {
    #[traced(record(id))]
    async fn fetch(&self, id: u64) -> anyhow::Result<u64> {
        Ok(id)
    }

    #[traced(name = "fetch_inner")]
    async fn fetch_inner(&self) -> u64 {
        1
    }
}

/// Calls everything above once.
///
/// # Panics
/// If a shape misbehaves.
pub async fn exercise() {
    plain();
    renamed();
    server_kind();
    let _ = records(1, &Shown(2), &Opts { verbose: true }, "n");
    let _ = returns(1);
    let _ = returns_display();
    let _ = returns_debug();
    root_span();
    let _ = fallible("1");
    let _ = fallible_anyhow();
    let _ = track_caller_fn(Some(1));
    let _ = generic(&[1, 2]);
    let _ = impl_trait([1].into_iter()).count();
    let _ = destructured((1, 2), [3]);
    let _ = unsafe { read(&1) };
    let _ = async_fn(1, "x").await;
    let _ = impl_future(1).await;
    let _ = boxed_future("x").await;
    let mut store = Store { value: 1 };
    let _ = store.get();
    *store.get_mut() = 2;
    let _ = store.load().await;
    let _ = store.provided().await;
    let _ = store.required().await;
    let _ = store.untraced();
    let _ = Arc::new(Store { value: 3 }).shared();
    let _ = store.into_inner();
    let _ = Remote.fetch(1).await;
    let _ = Remote.fetch_inner().await;
}
