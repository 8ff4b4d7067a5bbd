//! Every `#[traced]` option and function shape, compiled warning-free under clippy pedantic.
//! Edition 2024; the same shapes as `lint-check`, whose crate is reached as `mackerel`.

#![deny(warnings, clippy::all, clippy::pedantic)]

extern crate mackerel_trace as mackerel;

#[path = "../../lint-check/src/shapes.rs"]
pub mod shapes;

#[cfg(test)]
mod tests {
    #[tokio::test]
    async fn spans_are_recorded_in_edition_2024() {
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
