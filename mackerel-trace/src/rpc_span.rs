//! gRPC server and client spans by the RPC semantic conventions of v1.42.0 — the version that
//! `opentelemetry-semantic-conventions` 0.33 (the one matching our `opentelemetry`) is
//! generated from: `rpc.system.name`, a fully qualified `rpc.method`, `rpc.response.status_code`
//! as the code's name, and which codes are errors on which side.

use opentelemetry::trace::{SpanKind, Status, TraceContextExt as _};
use opentelemetry::{Context, KeyValue};

use crate::http_span::{self, ServerRequest};
use crate::tracer;

/// Whether a `content-type` is gRPC's: `application/grpc`, alone or followed by `+format` or
/// parameters. Not gRPC-Web (`application/grpc-web…`), whose status travels in the body.
pub(crate) fn is_grpc(content_type: &[u8]) -> bool {
    const GRPC: &[u8] = b"application/grpc";
    content_type
        .get(..GRPC.len())
        .is_some_and(|prefix| prefix.eq_ignore_ascii_case(GRPC))
        && matches!(content_type.get(GRPC.len()), None | Some(b'+' | b';'))
}

/// A gRPC status code.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Code {
    Ok,
    Cancelled,
    Unknown,
    InvalidArgument,
    DeadlineExceeded,
    NotFound,
    AlreadyExists,
    PermissionDenied,
    ResourceExhausted,
    FailedPrecondition,
    Aborted,
    OutOfRange,
    Unimplemented,
    Internal,
    Unavailable,
    DataLoss,
    Unauthenticated,
}

const CODES: [Code; 17] = [
    Code::Ok,
    Code::Cancelled,
    Code::Unknown,
    Code::InvalidArgument,
    Code::DeadlineExceeded,
    Code::NotFound,
    Code::AlreadyExists,
    Code::PermissionDenied,
    Code::ResourceExhausted,
    Code::FailedPrecondition,
    Code::Aborted,
    Code::OutOfRange,
    Code::Unimplemented,
    Code::Internal,
    Code::Unavailable,
    Code::DataLoss,
    Code::Unauthenticated,
];

impl Code {
    /// The code a `grpc-status` value names; `UNKNOWN` for anything else, as gRPC's clients
    /// read it.
    pub(crate) fn from_header(value: &[u8]) -> Code {
        let number = match value {
            [digit @ b'0'..=b'9'] => digit - b'0',
            [b'1', digit @ b'0'..=b'9'] => 10 + (digit - b'0'),
            _ => return Code::Unknown,
        };
        CODES
            .get(usize::from(number))
            .copied()
            .unwrap_or(Code::Unknown)
    }

    /// The code of a response without `grpc-status` whose HTTP status is not 200, by gRPC's
    /// HTTP-to-gRPC mapping (`UNKNOWN` for the rest).
    pub(crate) fn from_http_status(status: http::StatusCode) -> Code {
        match status.as_u16() {
            400 => Code::Internal,
            401 => Code::Unauthenticated,
            403 => Code::PermissionDenied,
            404 => Code::Unimplemented,
            429 | 502 | 503 | 504 => Code::Unavailable,
            _ => Code::Unknown,
        }
    }

    /// The name semantic conventions record: `OK`, `NOT_FOUND`, …
    pub(crate) fn name(self) -> &'static str {
        match self {
            Code::Ok => "OK",
            Code::Cancelled => "CANCELLED",
            Code::Unknown => "UNKNOWN",
            Code::InvalidArgument => "INVALID_ARGUMENT",
            Code::DeadlineExceeded => "DEADLINE_EXCEEDED",
            Code::NotFound => "NOT_FOUND",
            Code::AlreadyExists => "ALREADY_EXISTS",
            Code::PermissionDenied => "PERMISSION_DENIED",
            Code::ResourceExhausted => "RESOURCE_EXHAUSTED",
            Code::FailedPrecondition => "FAILED_PRECONDITION",
            Code::Aborted => "ABORTED",
            Code::OutOfRange => "OUT_OF_RANGE",
            Code::Unimplemented => "UNIMPLEMENTED",
            Code::Internal => "INTERNAL",
            Code::Unavailable => "UNAVAILABLE",
            Code::DataLoss => "DATA_LOSS",
            Code::Unauthenticated => "UNAUTHENTICATED",
        }
    }

    /// Whether the call failed, seen from `side`: a client fails on every code but `OK`; a
    /// server only on the codes that are its own fault, not the caller's.
    pub(crate) fn is_error(self, side: Side) -> bool {
        match side {
            Side::Client => self != Code::Ok,
            Side::Server => matches!(
                self,
                Code::Unknown
                    | Code::DeadlineExceeded
                    | Code::Unimplemented
                    | Code::Internal
                    | Code::Unavailable
                    | Code::DataLoss
            ),
        }
    }
}

/// Which end of the call a span stands for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Side {
    Server,
    Client,
}

/// `/package.Service/Method` → `package.Service/Method`; `None` for a path of another shape.
fn method_of(path: &str) -> Option<&str> {
    let method = path.strip_prefix('/')?;
    let (service, name) = method.split_once('/')?;
    (!service.is_empty() && !name.is_empty() && !name.contains('/')).then_some(method)
}

/// `rpc.system.name` and `rpc.method` (`_OTHER` with `rpc.method_original` for a path that
/// names no method); returns the span name.
fn rpc_attributes(path: &str, attributes: &mut Vec<KeyValue>) -> String {
    attributes.push(KeyValue::new("rpc.system.name", "grpc"));
    match method_of(path) {
        Some(method) => {
            attributes.push(KeyValue::new("rpc.method", method.to_owned()));
            method.to_owned()
        }
        None => {
            attributes.push(KeyValue::new("rpc.method", "_OTHER"));
            attributes.push(KeyValue::new("rpc.method_original", path.to_owned()));
            "grpc".to_owned()
        }
    }
}

/// A gRPC SERVER span, child of `parent`, as the current span of the returned context. It
/// carries the HTTP attributes true of the request too, with `http.route` = the method's path,
/// so that Mackerel's HTTP view lists each method. `None` when no pipeline is installed.
pub(crate) fn start_server(request: &ServerRequest<'_>, parent: &Context) -> Option<Context> {
    let tracer = tracer::tracer()?;
    // The HTTP attributes, the RPC ones, and at the end the HTTP status, the gRPC status and
    // `error.type`.
    let mut attributes = Vec::with_capacity(14);
    let route = method_of(request.path).map(|_| request.path);
    http_span::server_attributes(&ServerRequest { route, ..*request }, &mut attributes);
    let name = rpc_attributes(request.path, &mut attributes);
    Some(tracer::start_span(
        tracer,
        name,
        SpanKind::Server,
        attributes,
        None,
        parent,
    ))
}

/// What a gRPC client span is started from: the request's path and, when the URI carries
/// them, the server's scheme, host and port.
pub(crate) struct ClientCall<'a> {
    pub(crate) path: &'a str,
    pub(crate) scheme: Option<&'a str>,
    pub(crate) host: Option<&'a str>,
    pub(crate) port: Option<u16>,
}

/// A gRPC CLIENT span, child of the current span, as the current span of the returned
/// context. `None` when no pipeline is installed.
pub(crate) fn start_client(call: &ClientCall<'_>) -> Option<Context> {
    let tracer = tracer::tracer()?;
    let mut attributes = Vec::with_capacity(7);
    let name = rpc_attributes(call.path, &mut attributes);
    if let Some(host) = call.host.filter(|host| !host.is_empty()) {
        let scheme = call.scheme.unwrap_or("http");
        http_span::server_address(host, scheme, call.port, &mut attributes);
    }
    Some(tracer::start_span(
        tracer,
        name,
        SpanKind::Client,
        attributes,
        None,
        &Context::current(),
    ))
}

/// Records the call's status: `rpc.response.status_code`, and for a failure on `side`,
/// `error.type` = the code's name and status `Error` described by `message` (the call's
/// `grpc-message`) or else by the code's name.
pub(crate) fn record_status(cx: &Context, side: Side, code: Code, message: Option<String>) {
    let span = cx.span();
    span.set_attribute(KeyValue::new("rpc.response.status_code", code.name()));
    if code.is_error(side) {
        span.set_attribute(KeyValue::new("error.type", code.name()));
        let description = message
            .filter(|message| !message.is_empty())
            .unwrap_or_else(|| code.name().to_owned());
        span.set_status(Status::error(description));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grpc_content_types_are_recognised_and_grpc_web_is_not() {
        for grpc in [
            "application/grpc",
            "application/grpc+proto",
            "application/grpc+json",
            "application/grpc;charset=utf-8",
            "Application/GRPC",
        ] {
            assert!(is_grpc(grpc.as_bytes()), "{grpc}");
        }
        for other in [
            "application/grpc-web",
            "application/grpc-web-text+proto",
            "application/grpcx",
            "application/json",
            "application/grp",
            "",
        ] {
            assert!(!is_grpc(other.as_bytes()), "{other}");
        }
    }

    #[test]
    fn status_headers_name_their_code_and_anything_else_is_unknown() {
        assert_eq!(Code::from_header(b"0"), Code::Ok);
        assert_eq!(Code::from_header(b"5"), Code::NotFound);
        assert_eq!(Code::from_header(b"16"), Code::Unauthenticated);
        for bad in [&b"17"[..], b"99", b"-1", b"", b"OK", b"007", b" 5"] {
            assert_eq!(Code::from_header(bad), Code::Unknown, "{bad:?}");
        }
        for (number, code) in CODES.iter().enumerate() {
            assert_eq!(Code::from_header(number.to_string().as_bytes()), *code);
        }
    }

    #[test]
    fn http_statuses_map_to_codes_as_grpc_clients_map_them() {
        let code =
            |status: u16| Code::from_http_status(http::StatusCode::from_u16(status).unwrap());
        assert_eq!(code(400), Code::Internal);
        assert_eq!(code(401), Code::Unauthenticated);
        assert_eq!(code(403), Code::PermissionDenied);
        assert_eq!(code(404), Code::Unimplemented);
        for unavailable in [429, 502, 503, 504] {
            assert_eq!(code(unavailable), Code::Unavailable);
        }
        assert_eq!(code(500), Code::Unknown);
    }

    #[test]
    fn a_server_fails_on_its_own_faults_and_a_client_on_every_code_but_ok() {
        let server_errors: Vec<&str> = CODES
            .iter()
            .filter(|code| code.is_error(Side::Server))
            .map(|code| code.name())
            .collect();
        assert_eq!(
            server_errors,
            [
                "UNKNOWN",
                "DEADLINE_EXCEEDED",
                "UNIMPLEMENTED",
                "INTERNAL",
                "UNAVAILABLE",
                "DATA_LOSS"
            ]
        );
        assert!(!Code::Ok.is_error(Side::Client));
        assert!(CODES[1..].iter().all(|code| code.is_error(Side::Client)));
    }

    #[test]
    fn methods_are_taken_from_paths_of_the_grpc_shape_only() {
        assert_eq!(method_of("/shop.Orders/Get"), Some("shop.Orders/Get"));
        assert_eq!(method_of("/Echo/Echo"), Some("Echo/Echo"));
        for other in [
            "/",
            "/shop.Orders",
            "/shop.Orders/",
            "//Get",
            "/a/b/c",
            "shop.Orders/Get",
        ] {
            assert_eq!(method_of(other), None, "{other}");
        }
    }
}
