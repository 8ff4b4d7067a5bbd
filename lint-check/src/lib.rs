//! Every `#[traced]` option and function shape, compiled warning-free under clippy pedantic.
//! Edition 2021, with mackerel-trace renamed to `mackerel` in Cargo.toml.

#![deny(warnings, clippy::all, clippy::pedantic)]

pub mod main_attr;
pub mod shapes;

#[cfg(test)]
mod tests {
    #[tokio::test]
    async fn spans_go_through_the_renamed_crate() {
        let capture = mackerel::testing::SpanCapture::install();
        crate::shapes::exercise().await;
        for name in crate::shapes::SPAN_NAMES {
            assert!(
                !capture.spans_named(name).is_empty(),
                "no span named {name}"
            );
        }
    }
}
