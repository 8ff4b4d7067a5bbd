//! `record(...)` entries (`arg`, `%arg`, `?arg`, `key.path = expr`) and the code recording them.
//!
//! A value after `=` may carry a sigil too: `key.path = %expr`, `key.path = ?expr`.

use proc_macro2::{Span, TokenStream};
use quote::{quote_spanned, ToTokens};
use syn::ext::IdentExt as _;
use syn::parse::{ParseStream, Parser};
use syn::spanned::Spanned as _;
use syn::{Expr, Ident, Token};

use crate::diag::Errors;

/// How a value is turned into an attribute.
#[derive(Clone, Copy)]
pub(crate) enum Sigil {
    /// `%`: the Display text.
    Display(Span),
    /// `?`: the Debug text.
    Debug(Span),
}

impl Sigil {
    fn parse_opt(input: ParseStream) -> syn::Result<Option<Sigil>> {
        if input.peek(Token![%]) {
            let t: Token![%] = input.parse()?;
            Ok(Some(Sigil::Display(t.span)))
        } else if input.peek(Token![?]) {
            let t: Token![?] = input.parse()?;
            Ok(Some(Sigil::Debug(t.span)))
        } else {
            Ok(None)
        }
    }

    /// Exactly one sigil, as in `ret(%)`.
    pub(crate) fn parse_alone(input: ParseStream) -> syn::Result<Sigil> {
        let sigil = Sigil::parse_opt(input)?;
        match sigil {
            Some(sigil) if input.is_empty() => Ok(sigil),
            _ => Err(input.error("expected `%` (Display) or `?` (Debug), as in `ret(%)`")),
        }
    }
}

/// One `record(...)` entry.
#[derive(Clone)]
pub(crate) struct Entry {
    /// The attribute key, `a.b.c`.
    pub key: String,
    /// Where the key was written, for errors.
    pub key_span: Span,
    pub sigil: Option<Sigil>,
    pub value: Value,
}

#[derive(Clone)]
pub(crate) enum Value {
    /// `arg`: a function argument of the same name.
    Arg(Ident),
    /// `key = expr`.
    Expr(Box<Expr>),
}

pub(crate) fn parse(tokens: TokenStream) -> syn::Result<Vec<Entry>> {
    Parser::parse2(parse_entries, tokens)
}

fn parse_entries(input: ParseStream) -> syn::Result<Vec<Entry>> {
    // Split at top-level commas first, so that one bad entry does not hide the others.
    let mut chunks = vec![TokenStream::new()];
    while !input.is_empty() {
        if input.peek(Token![,]) {
            input.parse::<Token![,]>()?;
            chunks.push(TokenStream::new());
        } else if let Some(chunk) = chunks.last_mut() {
            chunk.extend([input.parse::<proc_macro2::TokenTree>()?]);
        }
    }
    let mut entries: Vec<Entry> = Vec::new();
    let mut errors = Errors::default();
    for chunk in chunks.into_iter().filter(|c| !c.is_empty()) {
        match Parser::parse2(parse_entry, chunk) {
            Ok(entry) if entries.iter().any(|e| e.key == entry.key) => errors.push(
                syn::Error::new(entry.key_span, format!("`{}` is recorded twice", entry.key)),
            ),
            Ok(entry) => entries.push(entry),
            Err(error) => errors.push(error),
        }
    }
    errors.finish()?;
    Ok(entries)
}

fn parse_entry(input: ParseStream) -> syn::Result<Entry> {
    let sigil = Sigil::parse_opt(input)?;
    let first = Ident::parse_any(input)?;
    let mut key = first.unraw().to_string();
    let mut key_span = first.span();
    let mut dotted = false;
    while input.peek(Token![.]) {
        input.parse::<Token![.]>()?;
        let part = Ident::parse_any(input)?;
        key.push('.');
        key.push_str(&part.unraw().to_string());
        key_span = key_span.join(part.span()).unwrap_or(key_span);
        dotted = true;
    }
    if input.peek(Token![=]) {
        let eq: Token![=] = input.parse()?;
        if let Some(sigil) = sigil {
            let span = match sigil {
                Sigil::Display(s) | Sigil::Debug(s) => s,
            };
            return Err(syn::Error::new(
                span,
                format!("put the sigil on the value: `{key} = %expr` or `{key} = ?expr`"),
            ));
        }
        let value_sigil = Sigil::parse_opt(input)?;
        if input.is_empty() {
            return Err(syn::Error::new(eq.span, format!("`{key} =` needs a value")));
        }
        let expr: Expr = input.parse()?;
        return Ok(Entry {
            key,
            key_span,
            sigil: value_sigil,
            value: Value::Expr(Box::new(expr)),
        });
    }
    if dotted {
        return Err(syn::Error::new(
            key_span,
            format!("a dotted key needs a value: `{key} = expr`"),
        ));
    }
    Ok(Entry {
        key,
        key_span,
        sigil,
        value: Value::Arg(first),
    })
}

impl Entry {
    /// The statement recording this entry on `recorder` (a `Recorder` in scope), spanned at the
    /// user's value so type errors point there.
    pub(crate) fn to_record(&self, recorder: &Ident) -> TokenStream {
        let key = &self.key;
        let value = match &self.value {
            Value::Arg(ident) => ident.to_token_stream(),
            // Parentheses only where `&` would bind tighter than the expression.
            Value::Expr(expr) if is_postfix(expr) => expr.to_token_stream(),
            Value::Expr(expr) => quote_spanned!(expr.span()=> (#expr)),
        };
        let span = value.span();
        match self.sigil {
            None => quote_spanned!(span=> #recorder.record(#key, &#value);),
            Some(Sigil::Display(_)) => {
                quote_spanned!(span=> #recorder.record_display(#key, &#value);)
            }
            Some(Sigil::Debug(_)) => quote_spanned!(span=> #recorder.record_debug(#key, &#value);),
        }
    }
}

fn is_postfix(expr: &Expr) -> bool {
    matches!(
        expr,
        Expr::Path(_)
            | Expr::Field(_)
            | Expr::MethodCall(_)
            | Expr::Call(_)
            | Expr::Lit(_)
            | Expr::Index(_)
            | Expr::Macro(_)
            | Expr::Paren(_)
            | Expr::Tuple(_)
            | Expr::Array(_)
            | Expr::Block(_)
    )
}
