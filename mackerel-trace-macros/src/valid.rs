//! Checks that turn mistakes into `syn::Error`s on the exact token, combined so every mistake shows.

use std::collections::BTreeSet;

use syn::visit_mut::VisitMut;
use syn::{FnArg, ItemFn};

use crate::args::Args;
use crate::diag::{did_you_mean, list, Errors};
use crate::record::Value;

/// The names a function binds from its arguments (including inside destructuring patterns), in
/// order, with `self` first when there is a receiver.
pub(crate) fn argument_names(f: &ItemFn) -> Vec<String> {
    struct Names(Vec<String>);
    impl VisitMut for Names {
        fn visit_pat_ident_mut(&mut self, p: &mut syn::PatIdent) {
            self.0.push(p.ident.unraw_string());
            syn::visit_mut::visit_pat_ident_mut(self, p);
        }
    }
    let mut names = Names(Vec::new());
    for input in &f.sig.inputs {
        match input {
            FnArg::Receiver(_) => names.0.push("self".to_owned()),
            FnArg::Typed(t) => names.visit_pat_mut(&mut t.pat.clone()),
        }
    }
    names.0
}

trait UnrawString {
    fn unraw_string(&self) -> String;
}

impl UnrawString for syn::Ident {
    fn unraw_string(&self) -> String {
        syn::ext::IdentExt::unraw(self).to_string()
    }
}

/// Checks `args` against the function they instrument.
pub(crate) fn check_fn(args: &Args, f: &ItemFn) -> syn::Result<()> {
    let mut errors = Errors::default();
    if let Some(constness) = &f.sig.constness {
        errors.push(syn::Error::new(
            constness.span,
            "`#[traced]` cannot instrument a `const fn`: spans are started at run time",
        ));
    }
    if let Some(skip) = &args.skip {
        errors.push(syn::Error::new(
            skip.span(),
            "`skip` opts a method out of a `#[traced]` impl block; on its own function, remove `#[traced]` instead",
        ));
    }
    if let Some((_, entries)) = &args.record {
        let names = argument_names(f);
        let known: BTreeSet<&str> = names.iter().map(String::as_str).collect();
        let fn_name = f.sig.ident.unraw_string();
        for entry in entries {
            if let Value::Arg(ident) = &entry.value {
                let given = ident.unraw_string();
                if !known.contains(given.as_str()) {
                    errors.push(syn::Error::new(
                        ident.span(),
                        unknown_argument(&given, &fn_name, &names),
                    ));
                }
            }
        }
    }
    errors.finish()
}

fn unknown_argument(given: &str, fn_name: &str, names: &[String]) -> String {
    if names.is_empty() {
        return format!(
            "`{given}` is not an argument of `{fn_name}`, which takes none; to record a value, write `{given} = expr`"
        );
    }
    let refs: Vec<&str> = names.iter().map(String::as_str).collect();
    format!(
        "`{given}` is not an argument of `{fn_name}`{} (its arguments: {}; to record another value, write `{given} = expr`)",
        did_you_mean(given, &refs),
        list(&refs)
    )
}

/// Checks the options of a `#[traced]` impl block: per-function options are errors there.
pub(crate) fn check_block(args: &Args) -> syn::Result<()> {
    let mut errors = Errors::default();
    if let Some(name) = &args.name {
        errors.push(syn::Error::new(
            name.span(),
            "`name` names one function; put `#[traced(name = \"...\")]` on the method instead of the impl block",
        ));
    }
    if let Some((keyword, _)) = &args.record {
        errors.push(syn::Error::new(
            keyword.span(),
            "`record` names one function's arguments; put `#[traced(record(...))]` on the method instead of the impl block",
        ));
    }
    if let Some(skip) = &args.skip {
        errors.push(syn::Error::new(
            skip.span(),
            "`skip` goes on a method inside a `#[traced]` impl block, not on the block",
        ));
    }
    errors.finish()
}

/// `#[traced(skip)]` on a method takes no other option: it would be ignored.
pub(crate) fn check_skip_alone(args: &Args) -> syn::Result<()> {
    let Some(skip) = &args.skip else {
        return Ok(());
    };
    let others = [
        args.name.is_some(),
        args.kind.is_some(),
        args.record.is_some(),
        args.ret.is_some(),
        args.root.is_some(),
        args.krate.is_some(),
    ];
    if others.iter().any(|set| *set) {
        return Err(syn::Error::new(
            skip.span(),
            "`skip` opts the method out of tracing, so it takes no other option",
        ));
    }
    Ok(())
}
