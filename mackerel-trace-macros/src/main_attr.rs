//! `#[mackerel_trace::main]`: install the pipeline before `main`'s body, flush it on exit.
//!
//! The expansion puts one statement first in the body: a guard from `Config::init` (the
//! crate's name and version as defaults), through `__private::main_guard`, which turns a
//! configuration error into one stderr line and tracing off. The guard flushes and shuts the
//! pipeline down when it drops — on return (`Ok` or `Err`) and while a panic unwinds.
//!
//! With `#[tokio::main]` either order works. Written above it, this attribute sees the
//! `async fn` and the guard lives inside the future (dropped when `block_on` finishes or
//! unwinds); written below it, it sees tokio's synchronous `main` and the guard outlives the
//! runtime. An `async fn main` with no runtime attribute below is an error that says so.

use proc_macro2::TokenStream;
use quote::quote;
use syn::parse::{Parse, ParseStream, Parser};
use syn::{Ident, ItemFn, LitStr, Path, Token};

use crate::crate_path;
use crate::diag::{did_you_mean, set};
use crate::options::parse_options;

const OPTIONS: &[&str] = &["service_name", "service_version", "environment", "crate"];

pub(crate) fn expand(args: TokenStream, item: TokenStream) -> TokenStream {
    match try_expand(args, item.clone()) {
        Ok(expanded) => expanded,
        Err(err) => {
            let mut out = err.to_compile_error();
            out.extend(item);
            out
        }
    }
}

fn try_expand(args: TokenStream, item: TokenStream) -> syn::Result<TokenStream> {
    let options = Parser::parse2(MainArgs::parse, args)?;
    let mut function: ItemFn = syn::parse2(item)?;
    if function.sig.asyncness.is_some() && !has_runtime_attribute(&function) {
        return Err(syn::Error::new_spanned(
            function.sig.asyncness,
            "`#[mackerel_trace::main]` on an `async fn` needs an async runtime attribute below it, \
             e.g.\n#[mackerel_trace::main]\n#[tokio::main]\nasync fn main() { .. }",
        ));
    }
    let krate = crate_path::resolve(options.krate.as_ref());
    let version = match options.service_version {
        Some(lit) => quote!(#lit),
        None => quote!(::core::env!("CARGO_PKG_VERSION")),
    };
    let service_name = options.service_name.map(|lit| quote!(.service_name(#lit)));
    let environment = options.environment.map(|lit| quote!(.environment(#lit)));
    let start: syn::Stmt = syn::parse_quote! {
        let __mackerel_trace_guard = #krate::__private::main_guard(
            #krate::Config::new()
                .default_service_name(::core::env!("CARGO_PKG_NAME"))
                .service_version(#version)
                #service_name
                #environment
                .init(),
        );
    };
    function.block.stmts.insert(0, start);
    Ok(quote!(#function))
}

/// `#[tokio::main]`, `#[async_std::main]`, `#[actix_web::main]`…: any attribute named `main`.
fn has_runtime_attribute(function: &ItemFn) -> bool {
    function.attrs.iter().any(|attr| {
        attr.path()
            .segments
            .last()
            .is_some_and(|s| s.ident == "main")
    })
}

#[derive(Default)]
struct MainArgs {
    service_name: Option<LitStr>,
    service_version: Option<LitStr>,
    environment: Option<LitStr>,
    krate: Option<Path>,
}

impl Parse for MainArgs {
    fn parse(input: ParseStream) -> syn::Result<Self> {
        let mut args = MainArgs::default();
        parse_options(input, |key, input| {
            input.parse::<Token![=]>()?;
            args.apply(key, input)
        })?;
        Ok(args)
    }
}

impl MainArgs {
    fn apply(&mut self, key: &Ident, input: ParseStream) -> syn::Result<()> {
        let name = key.to_string();
        let slot = match name.as_str() {
            "service_name" => &mut self.service_name,
            "service_version" => &mut self.service_version,
            "environment" => &mut self.environment,
            "crate" => {
                let path: Path = input.parse()?;
                return set(&mut self.krate, path, key);
            }
            _ => {
                skip_value(input)?;
                let hint = did_you_mean(&name, OPTIONS);
                return Err(syn::Error::new(
                    key.span(),
                    format!(
                        "unknown option `{name}` for `#[mackerel_trace::main]`{hint} (options: service_name, service_version, environment, crate)"
                    ),
                ));
            }
        };
        if !input.peek(LitStr) {
            let at = input.span();
            skip_value(input)?;
            return Err(syn::Error::new(
                at,
                format!("`{name}` takes a string literal, e.g. `{name} = \"...\"`"),
            ));
        }
        let value: LitStr = input.parse()?;
        set(slot, value, key)
    }
}

/// Skips an option's value, so the remaining options are still checked.
fn skip_value(input: ParseStream) -> syn::Result<()> {
    while !input.is_empty() && !input.peek(Token![,]) {
        input.parse::<proc_macro2::TokenTree>()?;
    }
    Ok(())
}
