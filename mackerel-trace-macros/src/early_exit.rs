//! `return` and `?` in a function body rewritten into `break` out of a labelled block.
//!
//! So the instrumented function can see the value without wrapping the body in a closure (which
//! would change `#[track_caller]`'s caller location).
//!
//! Closures, `async` blocks, `const` blocks and nested items keep their own `return` and `?`, so
//! they are not entered. Macro invocations are opaque here: a `return` hidden inside one (such as
//! `anyhow::bail!`) leaves the function without passing the block's end; the span still ends
//! (drop guard), but that return value is not inspected.

use proc_macro2::{Span, TokenStream};
use quote::quote_spanned;
use syn::visit_mut::{self, VisitMut};
use syn::{Expr, Lifetime};

pub(crate) struct EarlyExit<'a> {
    pub label: &'a Lifetime,
    pub krate: &'a TokenStream,
    /// Whether anything was rewritten (an unused label is a warning).
    pub used: bool,
}

impl EarlyExit<'_> {
    pub(crate) fn new<'a>(label: &'a Lifetime, krate: &'a TokenStream) -> EarlyExit<'a> {
        EarlyExit {
            label,
            krate,
            used: false,
        }
    }
}

impl VisitMut for EarlyExit<'_> {
    fn visit_expr_mut(&mut self, expr: &mut Expr) {
        match expr {
            Expr::Closure(_) | Expr::Async(_) | Expr::Const(_) => {}
            Expr::Return(ret) => {
                if let Some(value) = &mut ret.expr {
                    self.visit_expr_mut(value);
                }
                let label = self.label;
                let value = ret.expr.take();
                let span = ret.return_token.span;
                self.used = true;
                *expr = syn::parse_quote_spanned!(span=> break #label #value);
            }
            Expr::Try(t) => {
                self.visit_expr_mut(&mut t.expr);
                let inner = &t.expr;
                let label = self.label;
                let krate = self.krate;
                let span = t.question_token.span;
                self.used = true;
                let tokens = quote_spanned! {span=>
                    match #krate::__private::branch(#inner) {
                        #krate::__private::core::ops::ControlFlow::Continue(__mackerel_value) => __mackerel_value,
                        #krate::__private::core::ops::ControlFlow::Break(__mackerel_residual) => {
                            // A `let` first: `break 'label ::path` would read as a labelled block.
                            let __mackerel_early = #krate::__private::from_residual(__mackerel_residual);
                            break #label __mackerel_early
                        }
                    }
                };
                *expr =
                    syn::parse2(tokens).unwrap_or_else(|e| Expr::Verbatim(e.to_compile_error()));
            }
            _ => visit_mut::visit_expr_mut(self, expr),
        }
    }

    fn visit_item_mut(&mut self, _: &mut syn::Item) {}
}

/// The label of the rewritten body.
pub(crate) fn label() -> Lifetime {
    Lifetime::new("'__mackerel_body", Span::call_site())
}
