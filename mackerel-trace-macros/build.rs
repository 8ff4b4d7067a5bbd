//! `code.line.number` comes from `proc_macro::Span::line`, stable since Rust 1.88; on older
//! compilers `line!()` gives the attribute's line instead.

use std::process::Command;

fn main() {
    println!("cargo:rustc-check-cfg=cfg(span_line)");
    let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".to_owned());
    let minor = Command::new(rustc)
        .arg("--version")
        .output()
        .ok()
        .and_then(|out| String::from_utf8(out.stdout).ok())
        .and_then(|v| v.split('.').nth(1).and_then(|m| m.parse::<u32>().ok()));
    if minor.is_some_and(|m| m >= 88) {
        println!("cargo:rustc-cfg=span_line");
    }
}
