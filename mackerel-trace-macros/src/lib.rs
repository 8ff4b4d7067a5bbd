//! Attribute macros for [mackerel-trace](https://docs.rs/mackerel-trace): `#[traced]` and `#[main]`.
//!
//! Use them through `mackerel_trace::traced` and `mackerel_trace::main`.

mod args;
mod crate_path;
mod early_exit;
mod expand;
mod impl_block;
mod lifetime;
mod main_attr;
mod record;
mod valid;

use proc_macro::TokenStream;

/// Instruments a function (or every method of an `impl` block) with an OpenTelemetry span.
#[proc_macro_attribute]
pub fn traced(args: TokenStream, item: TokenStream) -> TokenStream {
    let item = proc_macro2::TokenStream::from(item);
    let expanded = match syn::parse2::<syn::Item>(item.clone()) {
        Ok(syn::Item::Fn(f)) => {
            args::parse(args.into()).and_then(|args| expand::function(&args, f))
        }
        Ok(syn::Item::Impl(block)) => impl_block::expand(args.into(), block),
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
