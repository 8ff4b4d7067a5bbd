//! What an actix request says about itself, in the terms of the shared HTTP span rules:
//! actix-web 4 is built on `http` 0.2, the rules on `http` 1.

use actix_web::dev::ServiceRequest;
use actix_web::http::header::{self, HeaderMap};
use actix_web::http::Version;
use actix_web::HttpRequest;
use opentelemetry::propagation::Extractor;
use opentelemetry::Context;

use crate::http_span::{self, ServerRequest};
use crate::propagation::{self, Carrier, Header};

/// A SERVER span for `request` (whose route is not known yet: the router runs after the
/// middleware), child of the context its headers carry. `None` when no pipeline is installed.
pub(super) fn start(request: &ServiceRequest) -> Option<Context> {
    let headers = request.headers();
    let text = |name: header::HeaderName| headers.get(name).and_then(|v| v.to_str().ok());
    let uri = request.uri();
    // Standard methods are constants in both versions of `http`; an extension method is a
    // valid token in both.
    let method = http::Method::from_bytes(request.method().as_str().as_bytes()).ok()?;
    // The listener's own scheme (a proxy's `X-Forwarded-Proto` is not trusted, as the `Host`
    // header is the only other thing read, like the tower layer).
    let scheme = uri
        .scheme_str()
        .unwrap_or(if request.app_config().secure() {
            "https"
        } else {
            "http"
        });
    let server_request = ServerRequest {
        method: &method,
        route: None,
        path: uri.path(),
        scheme: Some(scheme),
        host: uri
            .authority()
            .map(|authority| authority.as_str())
            .or_else(|| text(header::HOST)),
        user_agent: text(header::USER_AGENT),
        version: version(request.version()),
    };
    let parent = propagation::extract_from(&HeaderExtractor(headers));
    http_span::start_server(&server_request, &parent)
}

/// The pattern of the resource the router chose for `request` (read once routing is done, from
/// the request the response carries); `None` when no resource handled it.
///
/// Since actix-web 4.14, `match_pattern` names the resource the router actually took, guards
/// and registration order included. When the router took none, it falls back to the first
/// pattern that fits the path, whose guards may have turned the request away: a route that did
/// not handle it. What the router consumed of the path tells the two apart: a resource it
/// took consumed the whole path, or (a service mounted at a prefix, such as actix-files) just
/// its pattern; a default service (the app's, or a scope's) leaves more, or all of it.
pub(super) fn route(request: &HttpRequest) -> Option<String> {
    let path = request.match_info();
    let full = path.as_str();
    let rest = path.unprocessed();
    if rest.len() == full.len() {
        return None; // nothing matched at the app's level
    }
    let pattern = request.match_pattern()?;
    let consumed = &full[..full.len() - rest.len()];
    (rest.is_empty() || pattern == consumed).then_some(pattern)
}

/// The response status in `http` 1's type.
pub(super) fn status(status: actix_web::http::StatusCode) -> Option<http::StatusCode> {
    http::StatusCode::from_u16(status.as_u16()).ok()
}

fn version(version: Version) -> http::Version {
    match version {
        Version::HTTP_09 => http::Version::HTTP_09,
        Version::HTTP_10 => http::Version::HTTP_10,
        Version::HTTP_2 => http::Version::HTTP_2,
        Version::HTTP_3 => http::Version::HTTP_3,
        // actix speaks no other version.
        _ => http::Version::HTTP_11,
    }
}

/// actix's header map as a propagation carrier.
struct HeaderExtractor<'a>(&'a HeaderMap);

/// The propagators' header names, made once: a `&str` name is parsed on every lookup.
static NAMES: [header::HeaderName; 3] = [
    header::HeaderName::from_static(Header::NAMES[0]),
    header::HeaderName::from_static(Header::NAMES[1]),
    header::HeaderName::from_static(Header::NAMES[2]),
];

impl Carrier for HeaderExtractor<'_> {
    fn header(&self, header: Header) -> Option<&str> {
        let value = self.0.get(&NAMES[header as usize])?;
        value.to_str().ok()
    }
}

impl Extractor for HeaderExtractor<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        match Header::of(key) {
            Some(header) => self.header(header),
            None => self.0.get(key).and_then(|value| value.to_str().ok()),
        }
    }

    fn keys(&self) -> Vec<&str> {
        self.0.keys().map(header::HeaderName::as_str).collect()
    }
}
