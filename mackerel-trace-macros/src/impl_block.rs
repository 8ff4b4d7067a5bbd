//! `#[traced]` on an `impl` block: every method with a body is instrumented as `Type::method`.
//!
//! A method's own `#[traced(...)]` merges with the block's options (the method wins);
//! `#[traced(skip)]` opts a method out. `const fn` methods are left alone (they cannot be).
//!
//! Under a later `#[async_trait]` (`#[traced] #[async_trait] impl ..`), the `async fn`s are not
//! rewritten here: each gets a method-level `#[traced(...)]` carrying the merged options, which runs
//! after async_trait has boxed the body, and instruments the boxed `async` block.

use proc_macro2::TokenStream;
use quote::{quote, ToTokens};
use syn::{Attribute, ImplItem, ImplItemFn, ItemFn, ItemImpl, Meta};

use crate::args::{self, Args};
use crate::diag::Errors;
use crate::{crate_path, expand, valid};

/// The instrumented block; on errors, the errors and the block without any `#[traced]` (so that
/// each mistake is reported once, not again by the methods' own attributes).
pub(crate) fn expand(attr: TokenStream, mut block: ItemImpl) -> TokenStream {
    match instrument_block(attr, &mut block) {
        Ok(()) => block.into_token_stream(),
        Err(error) => {
            for item in &mut block.items {
                if let ImplItem::Fn(method) = item {
                    method.attrs.retain(|a| !is_named(a, "traced"));
                }
            }
            let error = error.to_compile_error();
            quote!(#error #block)
        }
    }
}

fn instrument_block(attr: TokenStream, block: &mut ItemImpl) -> syn::Result<()> {
    let mut block_args = args::parse(attr.clone())?;
    valid::check_block(&block_args)?;
    block_args.impl_ty = Some((*block.self_ty).clone());
    block_args.impl_lifetimes = block
        .generics
        .lifetimes()
        .map(|l| l.lifetime.clone())
        .collect();
    let async_trait_later = block.attrs.iter().any(|a| is_named(a, "async_trait"));

    let mut errors = Errors::default();
    for item in &mut block.items {
        let ImplItem::Fn(method) = item else { continue };
        match method_args(method) {
            Err(error) => errors.push(error),
            Ok(Some((own, _))) if own.skip.is_some() => {}
            Ok(_) if method.sig.constness.is_some() => {}
            Ok(own) => {
                let (own_args, own_tokens) = own.unwrap_or_default();
                if async_trait_later && method.sig.asyncness.is_some() {
                    defer(method, &block_args, &attr, own_tokens);
                    continue;
                }
                let merged = own_args.merged_over(&block_args);
                match instrument(&merged, method) {
                    Ok(instrumented) => *method = instrumented,
                    Err(error) => errors.push(error),
                }
            }
        }
    }
    errors.finish()
}

/// The method's own `#[traced(...)]` (removed from it): parsed options and their tokens.
fn method_args(method: &mut ImplItemFn) -> syn::Result<Option<(Args, TokenStream)>> {
    let Some(at) = method.attrs.iter().position(|a| is_named(a, "traced")) else {
        return Ok(None);
    };
    let attr = method.attrs.remove(at);
    let tokens = match attr.meta {
        Meta::Path(_) => TokenStream::new(),
        Meta::List(list) => list.tokens,
        Meta::NameValue(nv) => {
            return Err(syn::Error::new_spanned(nv, "write `#[traced(...)]`"));
        }
    };
    let args = args::parse(tokens.clone())?;
    valid::check_skip_alone(&args)?;
    Ok(Some((args, tokens)))
}

fn instrument(args: &Args, method: &ImplItemFn) -> syn::Result<ImplItemFn> {
    let f = ItemFn {
        attrs: method.attrs.clone(),
        vis: method.vis.clone(),
        sig: method.sig.clone(),
        block: Box::new(method.block.clone()),
    };
    let tokens = expand::function(args, f)?;
    let f: ItemFn = syn::parse2(tokens)?;
    Ok(ImplItemFn {
        attrs: f.attrs,
        vis: f.vis,
        defaultness: method.defaultness,
        sig: f.sig,
        block: *f.block,
    })
}

/// Leaves the method to a method-level `#[traced]` that runs after `#[async_trait]`.
fn defer(method: &mut ImplItemFn, block: &Args, block_tokens: &TokenStream, own: TokenStream) {
    let krate = crate_path::resolve(block.krate.as_ref());
    let ty = block.impl_ty.as_ref().map(ToTokens::to_token_stream);
    let own = (!own.is_empty()).then(|| quote!(#own,));
    method.attrs.push(syn::parse_quote! {
        #[#krate::traced(#own __impl(#ty), __block(#block_tokens))]
    });
}

fn is_named(attr: &Attribute, name: &str) -> bool {
    attr.path().segments.last().is_some_and(|s| s.ident == name)
}
