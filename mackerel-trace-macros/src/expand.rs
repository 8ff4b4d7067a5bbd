//! An instrumented function: a span started when it is called, current while it runs, ended with
//! its outcome.
//!
//! It keeps the same signature (or, for `async fn`, the same call as `fn -> impl Future`).
//!
//! Shapes:
//! - **sync** — the span is entered (made current) for the body; a drop guard ends it, so panics
//!   and early exits end it too. How the body runs, so that its value can be inspected:
//!   - a `move` closure called at once, `(move || -> R { body })()`, when the function is not
//!     `#[track_caller]` and `R` holds no borrow or `impl Trait`: a `return` anywhere in the body,
//!     even inside a macro such as `anyhow::bail!`, still passes through the outcome code;
//!   - otherwise a labelled block with `return` and `?` rewritten into `break` (`early_exit.rs`).
//!     No closure means `#[track_caller]` still sees the real caller, and borrows returned from
//!     `&mut` arguments stay legal. A `return` hidden in a macro skips the outcome; the drop guard
//!     still ends the span.
//! - **`async fn`** — becomes `fn -> impl Future<Output = R>`: the span starts at the call (so a
//!   spawned future stays a child of its caller), `record(...)` runs at the call, and the body is an
//!   `async move` block instrumented to make the span current on every poll.
//! - **a trailing `async` block** (`fn -> impl Future`, and `#[async_trait]`'s
//!   `Box::pin(async move { .. })`) — the statements before it run with the span current; the block
//!   is instrumented.

use proc_macro2::TokenStream;
use quote::{format_ident, quote, quote_spanned, ToTokens};
use syn::ext::IdentExt as _;
use syn::spanned::Spanned;
use syn::visit_mut::VisitMut;
use syn::{Block, Expr, ItemFn, ReturnType, Stmt, Type};

use crate::args::{Args, Ret};
use crate::early_exit::{self, EarlyExit};
use crate::rebind::{allow_unused_rebinds, move_arguments, recorded_names};
use crate::record::Sigil;
use crate::types::{borrows_or_opaque, has_impl_trait, is_unit, may_be_result, type_name};
use crate::{crate_path, lifetime, valid};

/// Instruments `f` (named `Type::method` when `args.impl_ty` is set by a `#[traced]` impl block).
pub(crate) fn function(args: &Args, mut f: ItemFn) -> syn::Result<TokenStream> {
    valid::check_fn(args, &f)?;
    let krate = crate_path::resolve(args.krate.as_ref());
    let site = call_site(args, &f, &krate);
    let records = records(args);

    let block = if f.sig.asyncness.is_some() {
        async_fn(args, &mut f, &krate)
    } else if let Some(block) = trailing_future(args, &f, &krate) {
        block
    } else {
        sync_fn(args, &f, &krate)
    };
    let stmts = block.stmts;
    let body: Block = syn::parse_quote! {{
        #site
        let __mackerel_span = #krate::__private::Span::start(&__MACKEREL_SITE, #records);
        #(#stmts)*
    }};
    // The user's braces stay: with generated ones, rustc no longer reports the function as dead
    // code.
    f.block.stmts = body.stmts;
    Ok(f.into_token_stream())
}

/// The `static` call site: name, kind, `code.*`; all `'static`.
fn call_site(args: &Args, f: &ItemFn, krate: &TokenStream) -> TokenStream {
    let fn_name = f.sig.ident.unraw().to_string();
    let qualified = match &args.impl_ty {
        Some(ty) => format!("{}::{fn_name}", type_name(ty)),
        None => fn_name,
    };
    let name = args
        .name
        .as_ref()
        .map_or_else(|| qualified.clone(), syn::LitStr::value);
    let kind = args.kind_variant();
    let root = args.root.is_some();
    // Room for every attribute the span can get: `record(...)`, `return.value`, `error.type`.
    let may_err = match &f.sig.output {
        ReturnType::Type(_, ty) => may_be_result(ty),
        ReturnType::Default => false,
    };
    let records = args.record.as_ref().map_or(0, |(_, entries)| entries.len())
        + usize::from(args.ret.is_some())
        + usize::from(may_err);
    // `file!()`/`line!()` spanned at the function's name report where the name is written.
    let at = f.sig.ident.span();
    let file = quote_spanned!(at=> #krate::__private::core::file!());
    let line = line_of(at);
    quote! {
        static __MACKEREL_SITE: #krate::__private::CallSite = #krate::__private::CallSite {
            name: #name,
            kind: #krate::__private::SpanKind::#kind,
            function: #krate::__private::core::concat!(
                #krate::__private::core::module_path!(), "::", #qualified
            ),
            file: #file,
            line: #line,
            root: #root,
            records: #records,
        };
    }
}

/// The line `span` starts on (`proc_macro::Span::line`, stable since Rust 1.88).
fn line_of(span: proc_macro2::Span) -> TokenStream {
    let line = u32::try_from(span.unwrap().line()).unwrap_or(0);
    quote!(#line)
}

/// `record(...)` as the closure `Span::start` calls only when the span is sampled.
fn records(args: &Args) -> TokenStream {
    let Some((_, entries)) = &args.record else {
        return quote!(|_| {});
    };
    let recorder = format_ident!("__mackerel_rec");
    let statements = entries.iter().map(|e| e.to_record(&recorder));
    quote! {
        |#recorder| { #(#statements)* }
    }
}

/// Records `__mackerel_ret`'s outcome (and `ret`) on `span`, when it is sampled. `output`, the
/// declared return type, is where a `ret` type error points.
fn outcome(
    args: &Args,
    span: &syn::Ident,
    krate: &TokenStream,
    output: Option<&Type>,
) -> TokenStream {
    let Some(record) = outcome_record(args, krate, output, &quote!(&__mackerel_ret)) else {
        return TokenStream::new();
    };
    quote! {
        if let #krate::__private::core::option::Option::Some(__mackerel_rec) = #span.recording() {
            #record
        }
    }
}

/// What the outcome records on `__mackerel_rec` (a sampled span), given `ret_ref`, a reference to
/// the returned value: the error, if the type can hold one, and `ret`. `None`: nothing to record.
fn outcome_record(
    args: &Args,
    krate: &TokenStream,
    output: Option<&Type>,
    ret_ref: &TokenStream,
) -> Option<TokenStream> {
    let ret = args.ret.as_ref().map(|Ret { keyword, sigil }| {
        let at = output.map_or_else(|| keyword.span(), Spanned::span);
        let method = match sigil {
            None => quote!(record),
            Some(Sigil::Display(_)) => quote!(record_display),
            Some(Sigil::Debug(_)) => quote!(record_debug),
        };
        quote_spanned! {at=>
            if let #krate::__private::core::option::Option::Some(__mackerel_ok) =
                (&#krate::__private::Ret(#ret_ref)).mackerel_ok()
            {
                __mackerel_rec.#method("return.value", __mackerel_ok);
            }
        }
    });
    if !output.is_none_or(may_be_result) {
        // Cannot be an `Err`: no dispatch to type-check, only `ret` if asked.
        let ret = ret?;
        return Some(quote! {
            use #krate::__private::PlainParts as _;
            #ret
        });
    }
    Some(quote! {
        use #krate::__private::{
            PlainParts as _, RecordDebugError as _, RecordDisplayError as _,
            RecordErrorPointer as _, RecordOpaqueError as _, RecordStdError as _,
            ResultParts as _,
        };
        if let #krate::__private::core::option::Option::Some(__mackerel_err) =
            (&#krate::__private::Ret(#ret_ref)).mackerel_err()
        {
            (&&&&#krate::__private::ErrorOf(__mackerel_err)).mackerel_record_error(__mackerel_rec);
        }
        #ret
    })
}

fn sync_fn(args: &Args, f: &ItemFn, krate: &TokenStream) -> Block {
    let span = format_ident!("__mackerel_span");
    let output = match &f.sig.output {
        ReturnType::Type(_, ty) if !is_unit(ty) => Some((**ty).clone()),
        _ => None,
    };
    let never = matches!(&output, Some(Type::Never(_)));
    let track_caller = f.attrs.iter().any(|a| a.path().is_ident("track_caller"));
    let body = &f.block;
    let closure = !track_caller && output.as_ref().is_none_or(|ty| !borrows_or_opaque(ty));

    if never {
        let stmts = &body.stmts;
        return syn::parse_quote! {{
            let #span = #span.enter();
            #(#stmts)*
        }};
    }
    if closure {
        return closure_fn(args, &span, output.as_ref(), body, krate);
    }
    let label = early_exit::label();
    let mut body = (**body).clone();
    let mut rewrite = EarlyExit::new(&label, krate);
    rewrite.visit_block_mut(&mut body);
    let label = rewrite.used.then(|| quote!(#label:));
    let run = quote!(#label #body);
    let Some(output) = output else {
        // Nothing to inspect in `()`.
        return syn::parse_quote! {{
            let #span = #span.enter();
            #run;
        }};
    };
    let annotation = (!has_impl_trait(&output)).then(|| quote!(: #output));
    // A body that always leaves early (`return` in a macro, `panic!`) makes what follows the
    // labelled block unreachable: that is generated code, not the user's.
    let run = quote! {
        #[allow(clippy::diverging_sub_expression)]
        let __mackerel_ret #annotation = #run;
    };
    let outcome = outcome(args, &span, krate, Some(&output));
    syn::parse_quote! {{
        let #span = #span.enter();
        #run
        #[allow(unreachable_code)]
        #outcome
        __mackerel_ret
    }}
}

/// The body as a `move` closure, called directly when tracing is off (one branch and the call,
/// in a small stack frame), or by the out-of-line `Span::run`, which enters the span, calls the
/// body, and hands the sampled span and the value to the outcome closure.
fn closure_fn(
    args: &Args,
    span: &syn::Ident,
    output: Option<&Type>,
    body: &Block,
    krate: &TokenStream,
) -> Block {
    let unit: Type = syn::parse_quote!(());
    let ty = output.unwrap_or(&unit);
    let annotation = output.map(|ty| quote!(-> #ty));
    let record = outcome_record(args, krate, output, &quote!(__mackerel_ret));
    let outcome = match record {
        Some(record) => quote! {
            |__mackerel_rec: #krate::__private::Recorder<'_>, __mackerel_ret: &#ty| { #record }
        },
        None => quote!(|_: #krate::__private::Recorder<'_>, _: &#ty| {}),
    };
    syn::parse_quote! {{
        let __mackerel_body = move || #annotation #body;
        if !#span.is_on() {
            return #krate::__private::call_once(__mackerel_body);
        }
        #span.run(__mackerel_body, #outcome)
    }}
}

fn async_fn(args: &Args, f: &mut ItemFn, krate: &TokenStream) -> Block {
    let output = match &f.sig.output {
        ReturnType::Type(_, ty) => (**ty).clone(),
        ReturnType::Default => syn::parse_quote!(()),
    };
    let mut lifetimes = lifetime::name_elided(&mut f.sig);
    for lifetime in &args.impl_lifetimes {
        if !lifetimes.contains(lifetime) {
            lifetimes.push(lifetime.clone());
        }
    }
    let rebinds = move_arguments(f, &recorded_names(args));
    f.sig.asyncness = None;
    let captures = (!lifetimes.is_empty())
        .then(|| quote!(+ #krate::__private::Captures<(#(&#lifetimes (),)*)>));
    f.sig.output = syn::parse_quote! {
        -> impl #krate::__private::core::future::Future<Output = #output> #captures
    };
    f.attrs
        .push(syn::parse_quote!(#[allow(refining_impl_trait)]));
    let stmts = &f.block.stmts;
    let body = quote!(async move { #(#rebinds)* #(#stmts)* });
    let future = if has_impl_trait(&output) {
        body
    } else {
        quote!(#krate::__private::typed_future::<#output, _>(#body))
    };
    instrumented(args, &future, krate, Some(&output))
}

/// `span.instrument(future)`, recording the outcome when `future` completes.
fn instrumented(
    args: &Args,
    future: &TokenStream,
    krate: &TokenStream,
    output: Option<&Type>,
) -> Block {
    let span = format_ident!("__mackerel_outcome");
    let outcome = outcome(args, &span, krate, output);
    syn::parse_quote! {{
        let __mackerel_future = #future;
        let #span = __mackerel_span.clone();
        __mackerel_span.instrument(async move {
            let __mackerel_ret = __mackerel_future.await;
            #outcome
            __mackerel_ret
        })
    }}
}

/// The sync-with-trailing-`async` shape, when `f`'s last expression is `async { .. }` or
/// `Box::pin(async { .. })`.
fn trailing_future(args: &Args, f: &ItemFn, krate: &TokenStream) -> Option<Block> {
    let (last, before) = f.block.stmts.split_last()?;
    let Stmt::Expr(tail, None) = last else {
        return None;
    };
    let (future, boxed) = match tail {
        Expr::Async(_) => (tail, None),
        Expr::Call(call) if call.args.len() == 1 && is_box_pin(&call.func) => {
            let arg = call.args.first()?;
            if !matches!(arg, Expr::Async(_)) {
                return None;
            }
            (arg, Some(&call.func))
        }
        _ => return None,
    };
    let mut future = future.clone();
    allow_unused_rebinds(&mut future, &recorded_names(args));
    let wrapped = instrumented(args, &future.to_token_stream(), krate, None);
    let tail = match boxed {
        None => quote!(#wrapped),
        Some(func) => quote!(#func(#wrapped)),
    };
    Some(syn::parse_quote! {{
        let __mackerel_attached = __mackerel_span.attach();
        #(#before)*
        #tail
    }})
}

fn is_box_pin(func: &Expr) -> bool {
    let Expr::Path(path) = func else { return false };
    let segments: Vec<String> = path
        .path
        .segments
        .iter()
        .map(|s| s.ident.to_string())
        .collect();
    segments.ends_with(&["Box".to_owned(), "pin".to_owned()])
}
