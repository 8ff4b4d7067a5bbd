//! Names for the elided lifetimes of an `async fn`'s arguments, for the future to capture.
//!
//! The `impl Future` the function becomes must say it captures them: edition 2021 captures only
//! the lifetimes named in the bounds.

use proc_macro2::Span;
use syn::visit_mut::{self, VisitMut};
use syn::{
    FnArg, GenericParam, Generics, Lifetime, LifetimeParam, Receiver, Signature, Type,
    TypeReference,
};

struct NameElided {
    fresh: Vec<Lifetime>,
}

impl NameElided {
    fn next(&mut self, _at: Span) -> Lifetime {
        // Generated, not the user's: lints about explicit lifetimes must not fire on them.
        let lifetime = Lifetime::new(
            &format!("'__mackerel_life{}", self.fresh.len()),
            Span::call_site(),
        );
        self.fresh.push(lifetime.clone());
        lifetime
    }
}

impl VisitMut for NameElided {
    fn visit_type_reference_mut(&mut self, r: &mut TypeReference) {
        if r.lifetime.is_none() {
            r.lifetime = Some(self.next(r.and_token.span));
        }
        visit_mut::visit_type_reference_mut(self, r);
    }

    fn visit_lifetime_mut(&mut self, l: &mut Lifetime) {
        if l.ident == "_" {
            *l = self.next(l.apostrophe);
        }
    }

    // `impl Fn(&str) -> &str` and `fn(&str)` have their own elision scope.
    fn visit_type_bare_fn_mut(&mut self, _: &mut syn::TypeBareFn) {}
    fn visit_parenthesized_generic_arguments_mut(
        &mut self,
        _: &mut syn::ParenthesizedGenericArguments,
    ) {
    }
}

/// Names every elided lifetime in `sig`'s arguments (adding them to its generics), and returns
/// every lifetime the future must capture: the function's own, the new ones, and those of the
/// enclosing impl that the arguments name.
pub(crate) fn name_elided(sig: &mut Signature) -> Vec<Lifetime> {
    let mut visitor = NameElided { fresh: Vec::new() };
    for input in &mut sig.inputs {
        match input {
            FnArg::Receiver(receiver) => name_receiver(&mut visitor, receiver),
            FnArg::Typed(typed) => visitor.visit_type_mut(&mut typed.ty),
        }
    }
    add_params(&mut sig.generics, &visitor.fresh);
    let mut all: Vec<Lifetime> = sig
        .generics
        .lifetimes()
        .map(|l| l.lifetime.clone())
        .collect();
    let mut named = Named(Vec::new());
    for input in &mut sig.inputs {
        if let FnArg::Typed(typed) = input {
            named.visit_type_mut(&mut typed.ty);
        }
    }
    for lifetime in named.0 {
        if lifetime.ident != "static" && !all.contains(&lifetime) {
            all.push(lifetime);
        }
    }
    all
}

/// Every lifetime named in a type (after elided ones are named).
struct Named(Vec<Lifetime>);

impl VisitMut for Named {
    fn visit_lifetime_mut(&mut self, l: &mut Lifetime) {
        self.0.push(l.clone());
    }
}

fn name_receiver(visitor: &mut NameElided, receiver: &mut Receiver) {
    if let Some((and, lifetime)) = &mut receiver.reference {
        if lifetime.as_ref().is_none_or(|l| l.ident == "_") {
            let named = visitor.next(and.span);
            *lifetime = Some(named.clone());
            if let Type::Reference(r) = &mut *receiver.ty {
                r.lifetime = Some(named);
            }
        }
    } else {
        // `self: &Self`, `self: Pin<&mut Self>`, `self: Arc<Self>`
        visitor.visit_type_mut(&mut receiver.ty);
    }
}

fn add_params(generics: &mut Generics, fresh: &[Lifetime]) {
    // Lifetimes go before type and const parameters.
    let at = generics.lifetimes().count();
    for (i, lifetime) in fresh.iter().enumerate() {
        generics.params.insert(
            at + i,
            GenericParam::Lifetime(LifetimeParam::new(lifetime.clone())),
        );
    }
    if generics.lt_token.is_none() && !fresh.is_empty() {
        generics.lt_token = Some(Default::default());
        generics.gt_token = Some(Default::default());
    }
}
