//! The `let x = x;` moves that make an instrumented future own its arguments.
//!
//! `record(...)` runs at the call, outside the future, so an argument only it reads is allowed to
//! be unused by the body.

use proc_macro2::TokenStream;
use quote::{quote, ToTokens};
use syn::visit_mut::VisitMut;
use syn::{Expr, FnArg, ItemFn, Stmt};

use crate::args::Args;
use crate::record::Value;

/// `let x = x;` for every argument binding, so the future owns every argument like an `async fn`
/// does (dropped when it completes, not at the call). `mut` moves from the argument to the rebinding.
///
/// `record(...)` runs at the call, outside the future: an argument it names may be unused in the
/// body, so its rebinding allows that. An argument neither uses still warns, on the rebinding,
/// which carries the argument's name and span.
pub(crate) fn move_arguments(f: &mut ItemFn, recorded: &[String]) -> Vec<TokenStream> {
    struct Bindings<'a> {
        rebinds: Vec<TokenStream>,
        recorded: &'a [String],
    }
    impl VisitMut for Bindings<'_> {
        fn visit_pat_ident_mut(&mut self, p: &mut syn::PatIdent) {
            if p.by_ref.is_none() {
                let ident = &p.ident;
                let mutability = p.mutability.take();
                let allow_unused = self
                    .recorded
                    .iter()
                    .any(|name| ident == name)
                    .then(|| quote!(#[allow(unused_variables)]));
                self.rebinds.push(quote! {
                    #[allow(clippy::redundant_locals)]
                    #allow_unused
                    let #mutability #ident = #ident;
                });
            }
            syn::visit_mut::visit_pat_ident_mut(self, p);
        }
    }
    let mut bindings = Bindings {
        rebinds: Vec::new(),
        recorded,
    };
    for input in &mut f.sig.inputs {
        if let FnArg::Typed(typed) = input {
            bindings.visit_pat_mut(&mut typed.pat);
        }
    }
    bindings.rebinds
}

/// `let x = x;` at the start of a trailing `async` block (how `#[async_trait]` moves arguments
/// into its future) allows `x` to be unused there when `record(...)` uses it at the call.
pub(crate) fn allow_unused_rebinds(future: &mut Expr, recorded: &[String]) {
    let Expr::Async(block) = future else {
        return;
    };
    for stmt in &mut block.block.stmts {
        let Stmt::Local(local) = stmt else {
            break;
        };
        let (syn::Pat::Ident(binding), Some(init)) = (&local.pat, &local.init) else {
            continue;
        };
        let Expr::Path(source) = &*init.expr else {
            continue;
        };
        if source.path.is_ident(&binding.ident) && recorded.iter().any(|n| binding.ident == n) {
            local
                .attrs
                .push(syn::parse_quote!(#[allow(unused_variables)]));
        }
    }
}

/// Every identifier the `record(...)` entries mention (a superset of the arguments they use).
pub(crate) fn recorded_names(args: &Args) -> Vec<String> {
    fn collect(tokens: TokenStream, names: &mut Vec<String>) {
        for token in tokens {
            match token {
                proc_macro2::TokenTree::Ident(ident) => names.push(ident.to_string()),
                proc_macro2::TokenTree::Group(group) => collect(group.stream(), names),
                proc_macro2::TokenTree::Punct(_) | proc_macro2::TokenTree::Literal(_) => {}
            }
        }
    }
    let mut names = Vec::new();
    for entry in args.record.iter().flat_map(|(_, entries)| entries) {
        match &entry.value {
            Value::Arg(ident) => names.push(ident.to_string()),
            Value::Expr(expr) => collect(expr.to_token_stream(), &mut names),
        }
    }
    names
}
