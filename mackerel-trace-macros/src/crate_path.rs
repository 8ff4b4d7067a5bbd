//! The path expansions use to reach the runtime crate: `crate = path`, else its name in Cargo.toml.
//!
//! `crate = path` wins. Otherwise the annotated crate's manifest says under which name it depends
//! on mackerel-trace: `mackerel = { package = "mackerel-trace", .. }` (or `mackerel.package = ..`,
//! `[dependencies.mackerel]`, or `mackerel = { workspace = true }` with the rename in
//! `[workspace.dependencies]`) makes it `::mackerel`. `proc-macro-crate` reads the manifest with a
//! real TOML parser. With no such dependency (a crate that reaches mackerel-trace through a
//! re-export, a manifest that cannot be read) it is `::mackerel_trace`, which also covers
//! `use mackerel_trace as mackerel;` (the extern crate keeps its name).

use proc_macro2::TokenStream;
use proc_macro_crate::FoundCrate;
use quote::{format_ident, quote, ToTokens};
use syn::Path;

const PACKAGE: &str = "mackerel-trace";

pub(crate) fn resolve(explicit: Option<&Path>) -> TokenStream {
    if let Some(path) = explicit {
        return path.to_token_stream();
    }
    let name = match proc_macro_crate::crate_name(PACKAGE) {
        Ok(FoundCrate::Name(name)) => name,
        // `Itself` is code compiled from mackerel-trace's own manifest other than its integration
        // tests: its doctests, examples and binaries, separate crates that reach it by its name.
        // The library itself does not use the macros.
        Ok(FoundCrate::Itself) | Err(_) => "mackerel_trace".to_owned(),
    };
    let ident = format_ident!("{}", name);
    quote!(::#ident)
}

#[cfg(test)]
mod tests {
    use super::resolve;

    #[test]
    fn an_explicit_path_wins() {
        let path: syn::Path = syn::parse_quote!(my_crate::tracing);
        assert_eq!(resolve(Some(&path)).to_string(), "my_crate :: tracing");
    }

    #[test]
    fn without_a_dependency_the_crate_is_reached_by_its_own_name() {
        // This crate's own manifest does not depend on mackerel-trace.
        assert_eq!(resolve(None).to_string(), ":: mackerel_trace");
    }
}
