//! The attribute macros of [mackerel-trace](https://docs.rs/mackerel-trace): `#[traced]` and
//! `#[main]`.
//!
//! Do not depend on this crate: add `mackerel-trace` and use them as `mackerel_trace::traced`
//! and `mackerel_trace::main`. Their expansions call into that crate, whose documentation is
//! the guide: <https://docs.rs/mackerel-trace>.

mod args;
mod crate_path;
mod diag;
mod early_exit;
mod expand;
mod impl_block;
mod lifetime;
mod main_attr;
mod options;
mod rebind;
mod record;
mod types;
mod valid;

use proc_macro::TokenStream;

/// Instruments a function (or every method of an `impl` block) with an OpenTelemetry span.
///
/// The span goes to the pipeline installed by `#[mackerel_trace::main]`, `mackerel_trace::init()`
/// or `mackerel_trace::set_tracer_provider`. With nothing installed, a traced call costs one
/// branch; when the span is not sampled, no `record(...)` expression runs.
///
/// ```ignore
/// use mackerel_trace::traced;
///
/// #[traced]                                   // span "insert_user", kind internal
/// fn insert_user(id: u64, email: &str) -> Result<User, DbError> { .. }
/// ```
///
/// Every span carries `code.function.name` (`module::path::function`, `module::Type::method` in
/// a traced impl block), `code.file.path` and `code.line.number` (the line of the function's name).
///
/// # Options
///
/// All optional, in any order, each at most once. Mistakes are compile errors on the token.
///
/// | option | example | meaning |
/// |---|---|---|
/// | `name = "..."` | `#[traced(name = "db.insert")]` | span name (default: the function's name) |
/// | `kind = ...` | `#[traced(kind = server)]` | `server`, `client`, `producer`, `consumer` or `internal` (default) |
/// | `record(...)` | `#[traced(record(id, %addr, ?opts, user.id = %user.id, n = items.len()))]` | attributes; nothing is recorded unless named |
/// | `ret` | `#[traced(ret)]`, `#[traced(ret(%))]`, `#[traced(ret(?))]` | record the return value (the `Ok` value of a `Result`) as `return.value`: typed, Display or Debug |
/// | `root` | `#[traced(root)]` | start a new trace instead of continuing the current one |
/// | `crate = path` | `#[traced(crate = my_crate::tracing)]` | where mackerel-trace is, for crates that re-export it |
/// | `skip` | `#[traced(skip)]` | on a method of a `#[traced]` impl block: leave it untraced |
///
/// `record(...)` entries: `arg` records argument `arg` through
/// [`AttributeValue`](https://docs.rs/mackerel-trace/latest/mackerel_trace/trait.AttributeValue.html)
/// (ints, floats, bools, strings, slices/`Vec`s/arrays of those, `Option<T>` omitted when `None`);
/// `%arg` records its Display text, `?arg` its Debug text; `key.path = expr`, `key.path = %expr`
/// and `key.path = ?expr` record any expression (it may use the arguments). Strings are cut to
/// 4096 bytes. A type without a typed conversion and no sigil is a compile error.
///
/// ```ignore
/// #[traced(name = "checkout", kind = server, record(cart.id = cart.id, items = cart.items.len(), %user), ret)]
/// async fn checkout(cart: &Cart, user: &User) -> Result<OrderId, CheckoutError> { .. }
/// ```
///
/// # Outcomes
///
/// A returned `Err(e)` (any `Result`, by type: `io::Result`, `anyhow::Result`, aliases) sets status
/// `Error` with `e`'s Display text, attribute `error.type` (the error's type name) and one
/// `exception` event with `exception.type`, `exception.message` and `exception.stacktrace`
/// (the message, then each `source()` as `caused by: ...`; `Box<dyn Error>` and `anyhow::Error`
/// keep their chain). Success leaves the status unset. A panic unwinding through the function
/// sets status `Error` and an `exception` event with `exception.type = "panic"`, then keeps
/// unwinding.
///
/// # Shapes
///
/// Sync functions, `async fn` (the span starts at the call, is current on every poll, ends when
/// the future completes, or when it is dropped with a `cancelled` event), `fn -> impl Future`
/// ending in an `async` block, native `async fn` in traits, `#[async_trait]` (either attribute
/// order), generics, lifetimes, `impl Trait`, every receiver, destructured arguments,
/// `unsafe fn` and `#[track_caller]` (no closure: the caller's location is kept). `const fn` is
/// an error.
///
/// An `async fn` becomes `fn -> impl Future<Output = T>` so that the span starts when it is
/// called. Edition 2021 must be told which lifetimes that future captures: those of the
/// arguments are found, and on a `#[traced]` impl block so are the impl's. A method of an impl
/// with lifetime parameters traced on its own, with an owned receiver (`self: Arc<Self>`), needs
/// `#[traced]` on the impl block instead.
///
/// # Impl blocks
///
/// ```ignore
/// #[traced(kind = client)]                    // every method: "Repo::get", "Repo::put", ...
/// impl Repo {
///     fn get(&self, id: u64) -> Option<Row> { .. }
///     #[traced(record(id), kind = internal)]  // merged with the block's options; the method wins
///     fn put(&mut self, id: u64, row: Row) { .. }
///     #[traced(skip)]                         // not traced
///     fn len(&self) -> usize { .. }
/// }
/// ```
///
/// `name` and `record` are per function, so they are errors on a block. `const fn` methods are
/// left untraced.
///
/// # Renamed dependency
///
/// `#[mackerel::traced]` works with `use mackerel_trace as mackerel;` and with mackerel-trace
/// renamed in Cargo.toml (read from the crate's manifest at expansion): `mackerel = { package =
/// "mackerel-trace", .. }`, `mackerel.package = "mackerel-trace"`, a `[dependencies.mackerel]`
/// table, or `mackerel = { workspace = true }` with the rename in `[workspace.dependencies]`.
/// For any other path, say where the crate is with `crate = path`.
#[proc_macro_attribute]
pub fn traced(args: TokenStream, item: TokenStream) -> TokenStream {
    let item = proc_macro2::TokenStream::from(item);
    let expanded = match syn::parse2::<syn::Item>(item.clone()) {
        Ok(syn::Item::Fn(f)) => {
            args::parse(args.into()).and_then(|args| expand::function(&args, f))
        }
        Ok(syn::Item::Impl(block)) => Ok(impl_block::expand(args.into(), block)),
        Ok(_) => Err(syn::Error::new(
            proc_macro2::Span::call_site(),
            "`#[traced]` goes on a function with a body or on an `impl` block",
        )),
        Err(error) => Err(error),
    };
    match expanded {
        Ok(tokens) => tokens.into(),
        // The item is kept as written, so one mistake in the options is the only error shown.
        Err(error) => {
            let error = error.to_compile_error();
            quote::quote!(#error #item).into()
        }
    }
}

/// Installs the mackerel-trace pipeline around `main` and flushes it on exit.
#[proc_macro_attribute]
pub fn main(args: TokenStream, item: TokenStream) -> TokenStream {
    main_attr::expand(args.into(), item.into()).into()
}
