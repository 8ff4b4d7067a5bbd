//! Paths a server integration leaves untraced (health checks, readiness probes), shared by the
//! `tower` and `actix` servers: which requests they are, and the unsampled context their
//! handlers run in.

use std::sync::Arc;

use opentelemetry::trace::{SpanContext, TraceContextExt as _, TraceFlags, TraceState};
use opentelemetry::Context;
use opentelemetry_sdk::trace::{IdGenerator as _, RandomIdGenerator};

/// The paths a server leaves untraced: exact paths, and prefixes written with a trailing `*`.
/// None configured (the default) costs one branch per request, and cloning it (axum clones its
/// services per request) copies a null pointer.
#[derive(Clone, Debug, Default)]
pub(crate) struct UntracedPaths(Option<Arc<Paths>>);

#[derive(Clone, Debug, Default)]
struct Paths {
    exact: Vec<Box<str>>,
    /// What comes before the `*` of each prefix.
    prefixes: Vec<Box<str>>,
}

impl UntracedPaths {
    /// Adds `paths`: each one is a path that starts with `/` and is matched exactly, or a
    /// prefix that ends with `*` (`/health/*`, `/grpc.health.v1.Health/*`).
    ///
    /// # Panics
    ///
    /// When a path does not start with `/` (no request path would ever match it), or has a
    /// `*` anywhere but at its end (there are no other wildcards).
    #[track_caller]
    pub(crate) fn add<I>(&mut self, paths: I)
    where
        I: IntoIterator,
        I::Item: Into<String>,
    {
        let mut added = self.0.as_deref().cloned().unwrap_or_default();
        for path in paths {
            let path: String = path.into();
            assert!(
                path.starts_with('/'),
                "untraced path {path:?} does not start with `/`: it would match no request"
            );
            match path.find('*') {
                None => added.exact.push(path.into_boxed_str()),
                Some(star) if star == path.len() - 1 => {
                    added.prefixes.push(path[..star].into());
                }
                Some(_) => panic!(
                    "untraced path {path:?} has a `*` before its end: paths match exactly, or \
                     by prefix with one trailing `*`"
                ),
            }
        }
        if !added.exact.is_empty() || !added.prefixes.is_empty() {
            self.0 = Some(Arc::new(added));
        }
    }

    /// Whether a request for `path` (without its query string, as sent) is left untraced.
    #[inline]
    pub(crate) fn contains(&self, path: &str) -> bool {
        match &self.0 {
            None => false,
            Some(paths) => paths.contains(path),
        }
    }
}

impl Paths {
    fn contains(&self, path: &str) -> bool {
        self.exact.iter().any(|exact| **exact == *path)
            || self
                .prefixes
                .iter()
                .any(|prefix| path.starts_with(&**prefix))
    }
}

/// The context an untraced request's handler runs in: the current one, with a remote parent
/// that is valid but not sampled (new random ids, flags `00`). Parent-based samplers (the
/// default) start no span below it, in the SDK and on the fast path alike, and what is sent
/// on carries `traceparent` with flags `00`, so that the services called do not start a
/// sampled trace either. A span context that is not valid would not be propagated, and the
/// next service would start a trace of its own.
pub(crate) fn unsampled_context() -> Context {
    let ids = RandomIdGenerator::default();
    Context::current().with_remote_span_context(SpanContext::new(
        ids.new_trace_id(),
        ids.new_span_id(),
        TraceFlags::default(),
        true,
        TraceState::NONE,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn paths(paths: &[&str]) -> UntracedPaths {
        let mut untraced = UntracedPaths::default();
        untraced.add(paths.iter().copied());
        untraced
    }

    #[test]
    fn exact_paths_match_only_themselves() {
        let untraced = paths(&["/healthz", "/readyz"]);
        assert!(untraced.contains("/healthz"));
        assert!(untraced.contains("/readyz"));
        for other in ["/healthz/", "/healthz2", "/health", "/", "/orders/7"] {
            assert!(!untraced.contains(other), "{other}");
        }
    }

    #[test]
    fn a_trailing_star_matches_every_path_with_that_prefix() {
        let untraced = paths(&["/health/*", "/grpc.health.v1.Health/*"]);
        assert!(untraced.contains("/health/"));
        assert!(untraced.contains("/health/live"));
        assert!(untraced.contains("/health/db/primary"));
        assert!(untraced.contains("/grpc.health.v1.Health/Check"));
        assert!(untraced.contains("/grpc.health.v1.Health/Watch"));
        assert!(!untraced.contains("/health"));
        assert!(!untraced.contains("/healthz"));
        assert!(!untraced.contains("/shop.Orders/Get"));
    }

    #[test]
    fn none_configured_contains_nothing_and_adding_nothing_changes_nothing() {
        assert!(!UntracedPaths::default().contains("/healthz"));
        let untraced = paths(&[]);
        assert!(untraced.0.is_none());
        let mut untraced = paths(&["/healthz"]);
        untraced.add(["/readyz".to_owned()]);
        assert!(untraced.contains("/healthz") && untraced.contains("/readyz"));
    }

    #[test]
    #[should_panic(expected = "does not start with `/`")]
    fn a_path_without_a_leading_slash_is_refused() {
        paths(&["healthz"]);
    }

    #[test]
    #[should_panic(expected = "has a `*` before its end")]
    fn a_star_inside_a_path_is_refused() {
        paths(&["/health/*/live"]);
    }

    #[test]
    fn the_unsampled_context_is_a_valid_remote_parent_that_is_not_sampled() {
        let cx = unsampled_context();
        assert!(cx.has_active_span());
        let span = cx.span();
        let span_context = span.span_context();
        assert!(span_context.is_valid());
        assert!(!span_context.is_sampled());
        assert!(span_context.is_remote());
        assert!(!span.is_recording());
        assert_ne!(
            unsampled_context().span().span_context().trace_id(),
            span_context.trace_id(),
            "every untraced request has trace ids of its own"
        );
    }
}
