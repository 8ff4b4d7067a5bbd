//! `#[traced(...)]` options → [`Args`], a plain model of what was asked.
//!
//! Every option is parsed on its own, so one attribute reports all of its mistakes at once.

use proc_macro2::{Span, TokenStream, TokenTree};
use syn::parse::{Parse, ParseStream, Parser};
use syn::{Ident, LitStr, Path, Token, Type};

use crate::diag::{did_you_mean, list, set};
use crate::options::parse_options;
use crate::record::{self, Entry};

/// Options a user can write, for "did you mean" and the list in errors.
pub(crate) const OPTIONS: &[&str] = &["name", "kind", "record", "ret", "root", "crate", "skip"];

const KINDS: &[&str] = &["server", "client", "producer", "consumer", "internal"];

/// What one `#[traced(...)]` attribute asked for.
#[derive(Default, Clone)]
pub(crate) struct Args {
    pub name: Option<LitStr>,
    pub kind: Option<Ident>,
    pub record: Option<(Ident, Vec<Entry>)>,
    pub ret: Option<Ret>,
    pub root: Option<Ident>,
    pub krate: Option<Path>,
    /// `skip`: the method opts out of its impl block's `#[traced]`.
    pub skip: Option<Ident>,
    /// Hidden, written by the impl-block expansion when it defers to a method attribute (after
    /// `#[async_trait]`): the impl's self type, for `Type::method`.
    pub impl_ty: Option<Type>,
    /// Set by the impl-block expansion: the impl's lifetime parameters, which a method's
    /// `impl Future` must be able to capture.
    pub impl_lifetimes: Vec<syn::Lifetime>,
}

/// `ret`, `ret(%)` or `ret(?)`.
#[derive(Clone)]
pub(crate) struct Ret {
    pub keyword: Ident,
    pub sigil: Option<record::Sigil>,
}

impl Args {
    /// Options of `self` that `other` does not set are taken from `other` (the method wins over
    /// its impl block).
    pub(crate) fn merged_over(mut self, block: &Args) -> Args {
        self.name = self.name.or_else(|| block.name.clone());
        self.kind = self.kind.or_else(|| block.kind.clone());
        self.record = self.record.or_else(|| block.record.clone());
        self.ret = self.ret.or_else(|| block.ret.clone());
        self.root = self.root.or_else(|| block.root.clone());
        self.krate = self.krate.or_else(|| block.krate.clone());
        self.impl_ty = self.impl_ty.or_else(|| block.impl_ty.clone());
        if self.impl_lifetimes.is_empty() {
            self.impl_lifetimes.clone_from(&block.impl_lifetimes);
        }
        self
    }

    /// The span kind variant of `opentelemetry::trace::SpanKind`.
    pub(crate) fn kind_variant(&self) -> Ident {
        let name = self
            .kind
            .as_ref()
            .map_or("internal".to_owned(), ToString::to_string);
        let mut chars = name.chars();
        let variant: String = chars
            .next()
            .map(|c| c.to_ascii_uppercase())
            .into_iter()
            .chain(chars)
            .collect();
        Ident::new(
            &variant,
            self.kind.as_ref().map_or_else(Span::call_site, Ident::span),
        )
    }
}

/// Parses the tokens inside `#[traced(...)]`.
pub(crate) fn parse(tokens: TokenStream) -> syn::Result<Args> {
    Parser::parse2(parse_args, tokens)
}

fn parse_args(input: ParseStream) -> syn::Result<Args> {
    let mut args = Args::default();
    parse_options(input, |key, input| {
        let value = take_value(input)?;
        apply(&mut args, key, value)
    })?;
    Ok(args)
}

/// What follows an option's name: `= tokens` up to the next top-level comma, `(group)`, or nothing.
enum Value {
    None,
    Assign(TokenStream),
    Group(proc_macro2::Group),
}

fn take_value(input: ParseStream) -> syn::Result<Value> {
    if input.peek(Token![=]) {
        let eq: Token![=] = input.parse()?;
        let mut tokens = TokenStream::new();
        while !input.is_empty() && !input.peek(Token![,]) {
            tokens.extend([input.parse::<TokenTree>()?]);
        }
        if tokens.is_empty() {
            return Err(syn::Error::new(eq.span, "expected a value after `=`"));
        }
        return Ok(Value::Assign(tokens));
    }
    if input.peek(syn::token::Paren) {
        if let TokenTree::Group(group) = input.parse::<TokenTree>()? {
            return Ok(Value::Group(group));
        }
    }
    Ok(Value::None)
}

fn apply(args: &mut Args, key: &Ident, value: Value) -> syn::Result<()> {
    let name = key.to_string();
    match (name.as_str(), value) {
        ("name", Value::Assign(tokens)) => {
            let lit: LitStr = syn::parse2(tokens).map_err(|e| {
                syn::Error::new(e.span(), "`name` takes a string literal: `name = \"...\"`")
            })?;
            if lit.value().is_empty() {
                return Err(syn::Error::new(
                    lit.span(),
                    "the span name must not be empty",
                ));
            }
            set(&mut args.name, lit, key)
        }
        ("kind", Value::Assign(tokens)) => {
            let ident: Ident = syn::parse2(tokens.clone()).map_err(|_| {
                syn::Error::new_spanned(&tokens, format!("`kind` is one of {}", list(KINDS)))
            })?;
            let given = ident.to_string();
            if !KINDS.contains(&given.as_str()) {
                return Err(syn::Error::new(
                    ident.span(),
                    format!(
                        "unknown span kind `{given}`{} (expected one of {})",
                        did_you_mean(&given, KINDS),
                        list(KINDS)
                    ),
                ));
            }
            set(&mut args.kind, ident, key)
        }
        ("record", Value::Group(group)) if group.stream().is_empty() => Err(syn::Error::new(
            group.span(),
            "`record()` is empty: name what to record, as in `record(id)`",
        )),
        ("record", Value::Group(group)) => {
            let entries = record::parse(group.stream())?;
            set(&mut args.record, (key.clone(), entries), key)
        }
        ("ret", Value::None) => set(
            &mut args.ret,
            Ret {
                keyword: key.clone(),
                sigil: None,
            },
            key,
        ),
        ("ret", Value::Group(group)) => {
            let sigil = Parser::parse2(record::Sigil::parse_alone, group.stream())?;
            set(
                &mut args.ret,
                Ret {
                    keyword: key.clone(),
                    sigil: Some(sigil),
                },
                key,
            )
        }
        ("root", Value::None) => set(&mut args.root, key.clone(), key),
        ("skip", Value::None) => set(&mut args.skip, key.clone(), key),
        ("crate", Value::Assign(tokens)) => {
            let path: Path = Parser::parse2(Path::parse_mod_style, tokens)?;
            set(&mut args.krate, path, key)
        }
        ("__impl", Value::Group(group)) => {
            args.impl_ty = Some(syn::parse2(group.stream())?);
            Ok(())
        }
        ("__block", Value::Group(group)) => {
            let block = parse(group.stream())?;
            *args = std::mem::take(args).merged_over(&block);
            Ok(())
        }
        ("name" | "kind" | "crate", _) => Err(syn::Error::new(
            key.span(),
            format!("`{name}` needs a value: `{name} = ...`"),
        )),
        ("record", _) => Err(syn::Error::new(
            key.span(),
            "`record` takes a list: `record(arg, %arg, ?arg, key = expr)`",
        )),
        ("root" | "skip", _) => Err(syn::Error::new(
            key.span(),
            format!("`{name}` takes no value"),
        )),
        ("ret", _) => Err(syn::Error::new(
            key.span(),
            "`ret` is written `ret`, `ret(%)` (Display) or `ret(?)` (Debug)",
        )),
        _ => Err(syn::Error::new(
            key.span(),
            format!(
                "unknown option `{name}`{} (expected one of {})",
                did_you_mean(&name, OPTIONS),
                list(OPTIONS)
            ),
        )),
    }
}

impl Parse for Args {
    fn parse(input: ParseStream) -> syn::Result<Self> {
        parse_args(input)
    }
}
