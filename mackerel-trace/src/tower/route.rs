//! Where a request's route comes from: axum's `MatchedPath` (feature `axum`), or else the
//! function a server with no route templates of its own (hyper, warp) gives the layer.

use std::borrow::Cow;
use std::fmt;
use std::sync::Arc;

use http::request::Parts;
use http::Request;

type NameRoute = dyn Fn(&Parts) -> Option<Cow<'static, str>> + Send + Sync;

/// The layer's route function (`ServerLayer::route_with`).
#[derive(Clone)]
pub(super) struct RouteFn(Arc<NameRoute>);

impl RouteFn {
    pub(super) fn new<F, R>(name: F) -> Self
    where
        F: Fn(&Parts) -> Option<R> + Send + Sync + 'static,
        R: Into<Cow<'static, str>>,
    {
        RouteFn(Arc::new(move |parts: &Parts| name(parts).map(Into::into)))
    }

    /// The route the function names for `request`, which it lends the function as its head
    /// and takes back.
    pub(super) fn name<B>(&self, request: Request<B>) -> (Request<B>, Option<Cow<'static, str>>) {
        let (parts, body) = request.into_parts();
        let route = (self.0)(&parts);
        (Request::from_parts(parts, body), route)
    }
}

impl fmt::Debug for RouteFn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("RouteFn(..)")
    }
}

/// The route the server matched `request` to, when it says: axum's `MatchedPath`.
#[cfg(feature = "axum")]
pub(super) fn matched<B>(request: &Request<B>) -> Option<&str> {
    request
        .extensions()
        .get::<axum::extract::MatchedPath>()
        .map(axum::extract::MatchedPath::as_str)
}

#[cfg(not(feature = "axum"))]
pub(super) fn matched<B>(_request: &Request<B>) -> Option<&str> {
    None
}
