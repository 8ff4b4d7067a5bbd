//! HTTP server and client spans by the stable semantic conventions, shared by the `tower`,
//! `actix`, `lambda` and `reqwest` integrations: what Mackerel's HTTP view reads (method,
//! route or path, status).

#[cfg(any(feature = "tower", feature = "actix", feature = "lambda"))]
use std::borrow::Cow;

use opentelemetry::trace::{SpanKind, Status, TraceContextExt as _};
use opentelemetry::{Context, KeyValue};

use crate::tracer;

/// The method as the conventions name it, and the original when it is not a standard one.
pub(crate) fn method_name(method: &http::Method) -> (&'static str, Option<String>) {
    let known = match *method {
        http::Method::GET => "GET",
        http::Method::POST => "POST",
        http::Method::PUT => "PUT",
        http::Method::DELETE => "DELETE",
        http::Method::PATCH => "PATCH",
        http::Method::HEAD => "HEAD",
        http::Method::OPTIONS => "OPTIONS",
        http::Method::CONNECT => "CONNECT",
        http::Method::TRACE => "TRACE",
        _ => return ("_OTHER", Some(method.as_str().to_owned())),
    };
    (known, None)
}

fn method_attributes(method: &http::Method, attributes: &mut Vec<KeyValue>) -> &'static str {
    let (name, original) = method_name(method);
    attributes.push(KeyValue::new("http.request.method", name));
    if let Some(original) = original {
        attributes.push(KeyValue::new("http.request.method_original", original));
    }
    name
}

/// `network.protocol.version` for `version`.
#[cfg(any(feature = "tower", feature = "actix", feature = "lambda"))]
pub(crate) fn protocol_version(version: http::Version) -> Option<&'static str> {
    match version {
        http::Version::HTTP_09 => Some("0.9"),
        http::Version::HTTP_10 => Some("1.0"),
        http::Version::HTTP_11 => Some("1.1"),
        http::Version::HTTP_2 => Some("2"),
        http::Version::HTTP_3 => Some("3"),
        _ => None,
    }
}

/// What a server span is started from.
#[cfg(any(feature = "tower", feature = "actix", feature = "lambda"))]
pub(crate) struct ServerRequest<'a> {
    pub(crate) method: &'a http::Method,
    pub(crate) route: Option<&'a str>,
    pub(crate) path: &'a str,
    pub(crate) scheme: Option<&'a str>,
    /// The `Host` header (or the URI's authority, for HTTP/2).
    pub(crate) host: Option<&'a str>,
    pub(crate) user_agent: Option<&'a str>,
    pub(crate) version: http::Version,
}

/// A SERVER span, child of `parent` (the context the request's headers carried), as the
/// current span of the returned context. `None` when no pipeline is installed.
#[cfg(any(feature = "tower", feature = "actix", feature = "lambda"))]
pub(crate) fn start_server(request: &ServerRequest<'_>, parent: &Context) -> Option<Context> {
    let tracer = tracer::tracer()?;
    let mut attributes = Vec::with_capacity(10);
    let (method, route) = server_attributes(request, &mut attributes);
    Some(tracer::start_span(
        tracer,
        server_span_name(method, route),
        SpanKind::Server,
        attributes,
        None,
        parent,
    ))
}

/// The attributes of a server span that describe the HTTP request (also carried by gRPC
/// server spans, for Mackerel's HTTP view); returns the method's name and the route recorded.
#[cfg(any(feature = "tower", feature = "actix", feature = "lambda"))]
pub(crate) fn server_attributes<'a>(
    request: &ServerRequest<'a>,
    attributes: &mut Vec<KeyValue>,
) -> (&'static str, Option<&'a str>) {
    let method = method_attributes(request.method, attributes);
    attributes.push(KeyValue::new("url.path", request.path.to_owned()));
    if let Some(scheme) = request.scheme {
        let scheme: Cow<'static, str> = match scheme {
            "https" => Cow::Borrowed("https"),
            "http" => Cow::Borrowed("http"),
            other => Cow::Owned(other.to_owned()),
        };
        attributes.push(KeyValue::new("url.scheme", scheme));
    }
    // Only a route that matched: never "" and never a made-up value.
    let route = request.route.filter(|route| !route.is_empty());
    if let Some(route) = route {
        attributes.push(KeyValue::new("http.route", route.to_owned()));
    }
    if let Some((host, port)) = request.host.and_then(split_host) {
        attributes.push(KeyValue::new("server.address", host.to_owned()));
        if let Some(port) = port {
            attributes.push(KeyValue::new("server.port", i64::from(port)));
        }
    }
    if let Some(agent) = request.user_agent {
        attributes.push(KeyValue::new("user_agent.original", agent.to_owned()));
    }
    if let Some(version) = protocol_version(request.version) {
        attributes.push(KeyValue::new("network.protocol.version", version));
    }
    (method, route)
}

/// `http.response.status_code`, as an int.
pub(crate) fn status_code_attribute(status: http::StatusCode) -> KeyValue {
    KeyValue::new("http.response.status_code", i64::from(status.as_u16()))
}

/// `{method} {route}`, or `{method}` when no route matched.
#[cfg(any(feature = "tower", feature = "actix", feature = "lambda"))]
fn server_span_name(method: &'static str, route: Option<&str>) -> Cow<'static, str> {
    match (method, route) {
        ("_OTHER", _) => Cow::Borrowed("HTTP"),
        (method, Some(route)) => Cow::Owned([method, " ", route].concat()),
        (method, None) => Cow::Borrowed(method),
    }
}

/// Records a route known only after the span started (actix routes inside the middleware):
/// `http.route`, and the span's name becomes `{method} {route}`. An empty route is none.
#[cfg(feature = "actix")]
pub(crate) fn server_route(cx: &Context, method: &http::Method, route: String) {
    if route.is_empty() {
        return;
    }
    let span = cx.span();
    span.update_name(server_span_name(method_name(method).0, Some(&route)));
    span.set_attribute(KeyValue::new("http.route", route));
}

/// Records the response status on a server span: a 5xx is the server's error (status `Error`,
/// `error.type` = the code); a 4xx is the client's and leaves the status unset.
#[cfg(any(feature = "tower", feature = "actix", feature = "lambda"))]
pub(crate) fn server_status(cx: &Context, status: http::StatusCode) {
    let span = cx.span();
    span.set_attribute(status_code_attribute(status));
    if status.is_server_error() {
        span.set_attribute(KeyValue::new("error.type", status.as_str().to_owned()));
        span.set_status(Status::error(status.to_string()));
    }
}

/// What a client span is started from: the request's method and URL parts.
pub(crate) struct ClientRequest<'a> {
    pub(crate) method: &'a http::Method,
    pub(crate) scheme: &'a str,
    pub(crate) host: &'a str,
    pub(crate) port: Option<u16>,
    pub(crate) path: &'a str,
    pub(crate) query: Option<&'a str>,
}

/// A CLIENT span, child of the current span, as the current span of the returned context.
/// `None` when no pipeline is installed.
pub(crate) fn start_client(request: &ClientRequest<'_>) -> Option<Context> {
    let tracer = tracer::tracer()?;
    let mut attributes = Vec::with_capacity(6);
    let method = method_attributes(request.method, &mut attributes);
    server_address(request.host, request.scheme, request.port, &mut attributes);
    attributes.push(KeyValue::new("url.full", full_url(request)));
    let name = if method == "_OTHER" { "HTTP" } else { method };
    Some(tracer::start_span(
        tracer,
        name,
        SpanKind::Client,
        attributes,
        None,
        &Context::current(),
    ))
}

/// `server.address` and `server.port` (the URL's, or its scheme's default) of a client span.
pub(crate) fn server_address(
    host: &str,
    scheme: &str,
    port: Option<u16>,
    attributes: &mut Vec<KeyValue>,
) {
    attributes.push(KeyValue::new("server.address", host.to_owned()));
    if let Some(port) = port_or_default(scheme, port) {
        attributes.push(KeyValue::new("server.port", i64::from(port)));
    }
}

/// The port a client connects to: the URL's, or its scheme's default.
fn port_or_default(scheme: &str, port: Option<u16>) -> Option<u16> {
    port.or(match scheme {
        "https" => Some(443),
        "http" => Some(80),
        _ => None,
    })
}

/// Records the response status on a client span: 400 and above are failures of the call.
pub(crate) fn client_status(cx: &Context, status: http::StatusCode) {
    let span = cx.span();
    span.set_attribute(status_code_attribute(status));
    if status.is_client_error() || status.is_server_error() {
        span.set_attribute(KeyValue::new("error.type", status.as_str().to_owned()));
        span.set_status(Status::error(status.to_string()));
    }
}

/// The URL without userinfo, and with each query value replaced: query strings carry secrets.
///
/// Written into one `String` of the size it needs, without the formatting machinery: this is
/// built for every outgoing request (`format!` and the growing `String` were about 1,600
/// instructions of a client span's 7,700).
fn full_url(request: &ClientRequest<'_>) -> String {
    const REDACTED: &str = "=REDACTED";
    let host = request.host;
    let bracketed = host.contains(':') && !host.starts_with('[');
    let query = request.query.filter(|q| !q.is_empty());
    let capacity = request.scheme.len()
        + "://[]:65535".len()
        + host.len()
        + request.path.len()
        + query.map_or(0, |q| {
            "?".len() + q.len() + REDACTED.len() * (1 + q.bytes().filter(|&b| b == b'&').count())
        });
    let mut url = String::with_capacity(capacity);
    url.push_str(request.scheme);
    url.push_str("://");
    if bracketed {
        url.push('[');
        url.push_str(host);
        url.push(']');
    } else {
        url.push_str(host);
    }
    if let Some(port) = request.port {
        url.push(':');
        url.push_str(itoa::Buffer::new().format(port));
    }
    url.push_str(request.path);
    if let Some(query) = query {
        url.push('?');
        for (index, pair) in query.split('&').enumerate() {
            if index > 0 {
                url.push('&');
            }
            match pair.split_once('=') {
                Some((key, _)) => {
                    url.push_str(key);
                    url.push_str(REDACTED);
                }
                None => url.push_str(pair),
            }
        }
    }
    url
}

/// `host[:port]` (an IPv6 literal in brackets) → host and port.
#[cfg(any(feature = "tower", feature = "actix", feature = "lambda"))]
fn split_host(authority: &str) -> Option<(&str, Option<u16>)> {
    let authority = authority.trim();
    if authority.is_empty() {
        return None;
    }
    if let Some(rest) = authority.strip_prefix('[') {
        let (host, after) = rest.split_once(']')?;
        let port = after.strip_prefix(':').and_then(|p| p.parse().ok());
        return Some((host, port));
    }
    match authority.rsplit_once(':') {
        Some((host, port)) if !host.contains(':') => Some((host, port.parse().ok())),
        _ => Some((authority, None)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url(scheme: &str, host: &str, port: Option<u16>, query: Option<&str>) -> String {
        full_url(&ClientRequest {
            method: &http::Method::GET,
            scheme,
            host,
            port,
            path: "/stock",
            query,
        })
    }

    #[test]
    fn full_url_keeps_query_keys_and_redacts_values() {
        assert_eq!(
            url(
                "https",
                "api.example",
                None,
                Some("sku=1&token=s3cret&flag")
            ),
            "https://api.example/stock?sku=REDACTED&token=REDACTED&flag"
        );
        assert_eq!(
            url("http", "::1", Some(8080), None),
            "http://[::1]:8080/stock"
        );
    }

    #[test]
    fn full_url_is_what_format_writes() {
        let hosts = ["api.example", "::1", "[::1]", "10.0.0.1", ""];
        let ports = [None, Some(0), Some(7), Some(80), Some(8080), Some(65535)];
        let queries = [
            None,
            Some(""),
            Some("a"),
            Some("a=1"),
            Some("a=1&b&c=&=d&&"),
        ];
        for host in hosts {
            for port in ports {
                for query in queries {
                    let bracketed = if host.contains(':') && !host.starts_with('[') {
                        format!("[{host}]")
                    } else {
                        host.to_owned()
                    };
                    let mut expected = match port {
                        Some(port) => format!("https://{bracketed}:{port}/stock"),
                        None => format!("https://{bracketed}/stock"),
                    };
                    if let Some(query) = query.filter(|q| !q.is_empty()) {
                        let pairs: Vec<String> = query
                            .split('&')
                            .map(|pair| match pair.split_once('=') {
                                Some((key, _)) => format!("{key}=REDACTED"),
                                None => pair.to_owned(),
                            })
                            .collect();
                        expected = format!("{expected}?{}", pairs.join("&"));
                    }
                    let got = url("https", host, port, query);
                    assert_eq!(got, expected, "{host:?} {port:?} {query:?}");
                }
            }
        }
    }

    #[test]
    fn non_standard_methods_are_other_with_the_original() {
        let purge = http::Method::from_bytes(b"PURGE").unwrap();
        assert_eq!(method_name(&purge), ("_OTHER", Some("PURGE".to_owned())));
        assert_eq!(method_name(&http::Method::PATCH), ("PATCH", None));
    }

    #[cfg(any(feature = "tower", feature = "actix", feature = "lambda"))]
    #[test]
    fn host_headers_split_into_address_and_port() {
        assert_eq!(
            split_host("example.com:8080"),
            Some(("example.com", Some(8080)))
        );
        assert_eq!(split_host("example.com"), Some(("example.com", None)));
        assert_eq!(split_host("[::1]:3000"), Some(("::1", Some(3000))));
        assert_eq!(split_host(""), None);
    }
}
