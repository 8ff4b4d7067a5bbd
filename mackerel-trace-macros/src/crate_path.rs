//! The path expansions use to reach the runtime crate.
//!
//! `crate = path` wins. Otherwise the annotated crate's own `Cargo.toml` is read for a
//! dependency renamed with `package = "mackerel-trace"` (`mackerel = { package = "mackerel-trace",
//! .. }` makes the crate `::mackerel`); without one it is `::mackerel_trace`, which also covers
//! `use mackerel_trace as mackerel;` (the extern crate keeps its name).

use proc_macro2::TokenStream;
use quote::{format_ident, quote, ToTokens};
use std::path::Path as FsPath;

use syn::Path;

const PACKAGE: &str = "mackerel-trace";

pub(crate) fn resolve(explicit: Option<&Path>) -> TokenStream {
    if let Some(path) = explicit {
        return path.to_token_stream();
    }
    let name = std::env::var("CARGO_MANIFEST_DIR")
        .ok()
        .and_then(|dir| renamed_in(FsPath::new(&dir)))
        .unwrap_or_else(|| "mackerel_trace".to_owned());
    let ident = format_ident!("{}", name);
    quote!(::#ident)
}

/// The renamed dependency of the package in `dir`, also when it is inherited from the workspace
/// (`mackerel = { workspace = true }` with the rename in `[workspace.dependencies]`).
fn renamed_in(dir: &FsPath) -> Option<String> {
    let manifest = std::fs::read_to_string(dir.join("Cargo.toml")).ok()?;
    if let Some(name) = renamed_dependency(&manifest) {
        return Some(name);
    }
    let inherited = inherited_dependencies(&manifest);
    if inherited.is_empty() {
        return None;
    }
    let root = dir.ancestors().skip(1).find_map(|parent| {
        let text = std::fs::read_to_string(parent.join("Cargo.toml")).ok()?;
        text.lines()
            .any(|l| l.trim() == "[workspace]")
            .then_some(text)
    })?;
    renamed_dependency(&root).filter(|name| inherited.contains(name))
}

/// Dependencies written `key = { workspace = true, .. }` or `key.workspace = true`.
fn inherited_dependencies(manifest: &str) -> Vec<String> {
    let mut table = String::new();
    let mut keys = Vec::new();
    for line in manifest.lines() {
        let line = line.split('#').next().unwrap_or("").trim();
        if line.starts_with('[') {
            table = line
                .trim_matches(|c| c == '[' || c == ']')
                .trim()
                .to_owned();
            continue;
        }
        if !table.ends_with("dependencies") {
            continue;
        }
        let Some((key, value)) = line.split_once('=') else {
            continue;
        };
        let (key, value) = (key.trim(), value.trim());
        if let Some(key) = key.strip_suffix(".workspace") {
            if value == "true" {
                keys.push(rust_name(key.trim()));
            }
        } else if value.starts_with('{')
            && value
                .trim_matches(|c| c == '{' || c == '}')
                .split(',')
                .filter_map(|pair| pair.split_once('='))
                .any(|(k, v)| k.trim() == "workspace" && v.trim() == "true")
        {
            keys.push(rust_name(key));
        }
    }
    keys
}

/// The name under which `manifest` depends on mackerel-trace when it renames it.
///
/// A line scan rather than a TOML parser (no extra dependency): it understands
/// `key = { package = "mackerel-trace", ... }` in any dependency table and
/// `[dependencies.key]` tables with a `package = "mackerel-trace"` line.
fn renamed_dependency(manifest: &str) -> Option<String> {
    let mut table: Option<String> = None;
    for line in manifest.lines() {
        let line = line.split('#').next().unwrap_or("").trim();
        if line.starts_with('[') {
            table = Some(
                line.trim_matches(|c| c == '[' || c == ']')
                    .trim()
                    .to_owned(),
            );
            continue;
        }
        let Some(table) = &table else { continue };
        if !table.ends_with("dependencies") && !table.contains("dependencies.") {
            continue;
        }
        let Some((key, value)) = line.split_once('=') else {
            continue;
        };
        let (key, value) = (key.trim(), value.trim());
        if table.ends_with("dependencies") {
            if value.starts_with('{') && names_package(value) {
                return Some(rust_name(key));
            }
        } else if key == "package" && is_package(value) {
            let dep = table.rsplit("dependencies.").next().unwrap_or("");
            return Some(rust_name(dep));
        }
    }
    None
}

fn names_package(inline_table: &str) -> bool {
    inline_table
        .trim_matches(|c| c == '{' || c == '}')
        .split(',')
        .filter_map(|pair| pair.split_once('='))
        .any(|(k, v)| k.trim() == "package" && is_package(v.trim()))
}

fn is_package(value: &str) -> bool {
    value.trim_matches(|c| c == '"' || c == '\'') == PACKAGE
}

fn rust_name(key: &str) -> String {
    key.trim_matches(|c| c == '"' || c == '\'')
        .replace('-', "_")
}

#[cfg(test)]
mod tests {
    use super::renamed_dependency;

    #[test]
    fn finds_inline_renames() {
        let manifest = "[package]\nname = \"app\"\n\n[dependencies]\nserde = \"1\"\nmackerel = { package = \"mackerel-trace\", version = \"0.1\" }\n";
        assert_eq!(renamed_dependency(manifest).as_deref(), Some("mackerel"));
    }

    #[test]
    fn finds_table_renames() {
        let manifest = "[dependencies.my-apm]\npackage = \"mackerel-trace\"\npath = \"../x\"\n";
        assert_eq!(renamed_dependency(manifest).as_deref(), Some("my_apm"));
    }

    #[test]
    fn finds_renames_inherited_from_the_workspace() {
        let dir = std::env::temp_dir().join(format!("mackerel-crate-path-{}", std::process::id()));
        let member = dir.join("app");
        std::fs::create_dir_all(&member).unwrap();
        std::fs::write(
            dir.join("Cargo.toml"),
            "[workspace]\nmembers = [\"app\"]\n\n[workspace.dependencies]\nmackerel = { package = \"mackerel-trace\", version = \"0.1\" }\n",
        )
        .unwrap();
        std::fs::write(
            member.join("Cargo.toml"),
            "[package]\nname = \"app\"\n\n[dependencies]\nmackerel = { workspace = true }\n",
        )
        .unwrap();
        let found = super::renamed_in(&member);
        std::fs::remove_dir_all(&dir).unwrap();
        assert_eq!(found.as_deref(), Some("mackerel"));
    }

    #[test]
    fn plain_dependency_is_not_a_rename() {
        let manifest = "[dependencies]\nmackerel-trace = { version = \"0.1\" }\n";
        assert_eq!(renamed_dependency(manifest), None);
    }
}
