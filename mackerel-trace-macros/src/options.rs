//! The comma list of options (`key`, `key = ..`, `key(..)`) that `#[traced]` and `#[main]` share.

use proc_macro2::Ident;
use syn::parse::ParseStream;
use syn::Token;

use crate::diag::Errors;

/// Parses a comma list of options (`crate` is a key too), handing each key to `each` to take its
/// value. Mistakes `each` reports are collected, so one attribute shows all of them at once.
pub(crate) fn parse_options(
    input: ParseStream,
    mut each: impl FnMut(&Ident, ParseStream) -> syn::Result<()>,
) -> syn::Result<()> {
    let mut errors = Errors::default();
    while !input.is_empty() {
        let key: Ident = if input.peek(Token![crate]) {
            let token: Token![crate] = input.parse()?;
            Ident::new("crate", token.span)
        } else {
            input.call(syn::ext::IdentExt::parse_any)?
        };
        if let Err(err) = each(&key, input) {
            errors.push(err);
        }
        if input.is_empty() {
            break;
        }
        input.parse::<Token![,]>()?;
    }
    errors.finish()
}
