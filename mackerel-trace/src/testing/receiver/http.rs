//! Just enough HTTP/1.1 to be an OTLP endpoint: one request at a time on a keep-alive connection,
//! `Content-Length` or chunked bodies, and answers that always carry a `Content-Length`.

use std::io::{self, BufRead, Read, Write};

/// Longest request line, header line or chunk-size line we accept.
const MAX_LINE: u64 = 64 * 1024;
/// Largest body we accept; well above Mackerel's 6 MB limit, low enough to refuse garbage lengths.
const MAX_BODY: u64 = 64 * 1024 * 1024;
/// Most header lines in one request.
const MAX_HEADERS: usize = 256;

/// A request as read off the connection, body already de-chunked.
pub(super) struct RawRequest {
    pub(super) method: String,
    pub(super) path: String,
    /// The request target as sent: origin form, absolute form through a proxy, or
    /// `host:port` for `CONNECT`.
    pub(super) target: String,
    /// Names lowercased, in the order they arrived.
    pub(super) headers: Vec<(String, String)>,
    pub(super) body: Vec<u8>,
    /// The client asked to close the connection after this request.
    pub(super) close: bool,
}

impl RawRequest {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.as_str())
    }
}

/// Reads the next request; `Ok(None)` when the client closed the connection between requests.
///
/// `on_continue` is written before the body when the client sent `Expect: 100-continue`.
pub(super) fn read_request<R: BufRead, W: Write>(
    reader: &mut R,
    on_continue: &mut W,
) -> io::Result<Option<RawRequest>> {
    let request_line = loop {
        match read_line(reader)? {
            None => return Ok(None),
            // RFC 9112 §2.2: ignore empty lines before the request line.
            Some(line) if line.is_empty() => continue,
            Some(line) => break line,
        }
    };
    let mut parts = request_line.split_whitespace();
    let (Some(method), Some(target), Some(version), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(invalid(format!("malformed request line {request_line:?}")));
    };

    let mut headers = Vec::new();
    loop {
        let line = read_line(reader)?.ok_or_else(|| eof("headers"))?;
        if line.is_empty() {
            break;
        }
        if headers.len() == MAX_HEADERS {
            return Err(invalid("too many headers".into()));
        }
        let (name, value) = line
            .split_once(':')
            .ok_or_else(|| invalid(format!("malformed header line {line:?}")))?;
        headers.push((name.trim().to_ascii_lowercase(), value.trim().to_owned()));
    }

    let mut request = RawRequest {
        method: method.to_owned(),
        path: origin_form(target).to_owned(),
        target: target.to_owned(),
        headers,
        body: Vec::new(),
        close: false,
    };
    let connection = request.header("connection").map(str::to_ascii_lowercase);
    request.close = match connection.as_deref() {
        Some(value) if value.contains("close") => true,
        Some(value) if value.contains("keep-alive") => false,
        _ => version != "HTTP/1.1",
    };

    if request
        .header("expect")
        .is_some_and(|value| value.eq_ignore_ascii_case("100-continue"))
    {
        on_continue.write_all(b"HTTP/1.1 100 Continue\r\n\r\n")?;
        on_continue.flush()?;
    }

    let chunked = request
        .header("transfer-encoding")
        .is_some_and(|value| value.to_ascii_lowercase().contains("chunked"));
    request.body = if chunked {
        read_chunked(reader)?
    } else if let Some(length) = request.header("content-length") {
        let length = length
            .parse::<u64>()
            .map_err(|_| invalid(format!("bad content-length {length:?}")))?;
        read_exact_len(reader, length)?
    } else {
        Vec::new()
    };
    Ok(Some(request))
}

/// Writes one answer; `Content-Length` is always computed here, so callers never set it.
pub(super) fn write_response<W: Write>(
    writer: &mut W,
    status: u16,
    headers: &[(String, String)],
    body: &[u8],
    close: bool,
) -> io::Result<()> {
    let mut head = format!("HTTP/1.1 {status} {}\r\n", reason(status));
    for (name, value) in headers {
        if name.eq_ignore_ascii_case("content-length") || name.eq_ignore_ascii_case("connection") {
            continue;
        }
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str(&format!("Content-Length: {}\r\n", body.len()));
    if close {
        head.push_str("Connection: close\r\n");
    }
    head.push_str("\r\n");
    writer.write_all(head.as_bytes())?;
    writer.write_all(body)?;
    writer.flush()
}

fn read_chunked<R: BufRead>(reader: &mut R) -> io::Result<Vec<u8>> {
    let mut body = Vec::new();
    loop {
        let line = read_line(reader)?.ok_or_else(|| eof("chunk size"))?;
        let size = line.split(';').next().unwrap_or_default().trim();
        let size = u64::from_str_radix(size, 16)
            .map_err(|_| invalid(format!("bad chunk size {line:?}")))?;
        if size == 0 {
            break;
        }
        if body.len() as u64 + size > MAX_BODY {
            return Err(invalid("chunked body too large".into()));
        }
        body.extend(read_exact_len(reader, size)?);
        if read_line(reader)?.as_deref() != Some("") {
            return Err(invalid("chunk not followed by CRLF".into()));
        }
    }
    // Trailer fields, ignored, up to the empty line.
    while !read_line(reader)?
        .ok_or_else(|| eof("trailers"))?
        .is_empty()
    {}
    Ok(body)
}

fn read_exact_len<R: Read>(reader: &mut R, length: u64) -> io::Result<Vec<u8>> {
    if length > MAX_BODY {
        return Err(invalid(format!("body of {length} bytes is too large")));
    }
    let mut body = Vec::with_capacity(length as usize);
    reader.by_ref().take(length).read_to_end(&mut body)?;
    if body.len() as u64 != length {
        return Err(eof("body"));
    }
    Ok(body)
}

/// One line without its CRLF (or bare LF); `None` at end of stream before any byte.
fn read_line<R: BufRead>(reader: &mut R) -> io::Result<Option<String>> {
    let mut line = Vec::new();
    reader
        .by_ref()
        .take(MAX_LINE)
        .read_until(b'\n', &mut line)?;
    if line.is_empty() {
        return Ok(None);
    }
    if line.pop() != Some(b'\n') {
        return Err(if line.len() as u64 + 1 >= MAX_LINE {
            invalid("line too long".into())
        } else {
            eof("line")
        });
    }
    if line.last() == Some(&b'\r') {
        line.pop();
    }
    String::from_utf8(line)
        .map(Some)
        .map_err(|_| invalid("line is not UTF-8".into()))
}

/// `http://host:port/v1/traces` → `/v1/traces`; origin-form targets pass through.
fn origin_form(target: &str) -> &str {
    match target.split_once("://") {
        Some((_, rest)) => rest.find('/').map_or("/", |slash| &rest[slash..]),
        None => target,
    }
}

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        202 => "Accepted",
        204 => "No Content",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        413 => "Payload Too Large",
        429 => "Too Many Requests",
        500 => "Internal Server Error",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Gateway Timeout",
        _ => "Status",
    }
}

fn invalid(message: String) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, message)
}

fn eof(what: &str) -> io::Error {
    io::Error::new(
        io::ErrorKind::UnexpectedEof,
        format!("connection closed in the middle of the {what}"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(raw: &[u8]) -> io::Result<Option<RawRequest>> {
        read_request(&mut &raw[..], &mut io::sink())
    }

    #[test]
    fn chunked_body_with_extensions_and_trailers_is_joined() {
        let raw = b"POST /v1/traces HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n\
                    3;ext=1\r\nabc\r\n2\r\nde\r\n0\r\nX-Trailer: y\r\n\r\n";
        let request = parse(raw).unwrap().unwrap();
        assert_eq!(request.body, b"abcde");
        assert!(!request.close);
    }

    #[test]
    fn header_names_are_lowercased_and_absolute_targets_reduced_to_path() {
        let raw = b"GET http://127.0.0.1:1/v1/traces HTTP/1.1\r\nACCEPT: */*\r\n\r\n";
        let request = parse(raw).unwrap().unwrap();
        assert_eq!(request.path, "/v1/traces");
        assert_eq!(request.headers, [("accept".into(), "*/*".into())]);
    }

    #[test]
    fn http_1_0_and_connection_close_end_the_connection() {
        let request = parse(b"GET / HTTP/1.0\r\n\r\n").unwrap().unwrap();
        assert!(request.close);
        let request = parse(b"GET / HTTP/1.1\r\nConnection: Close\r\n\r\n")
            .unwrap()
            .unwrap();
        assert!(request.close);
    }

    #[test]
    fn expect_100_continue_is_answered_before_the_body_is_read() {
        let raw = b"POST / HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\nhi";
        let mut interim = Vec::new();
        let request = read_request(&mut &raw[..], &mut interim).unwrap().unwrap();
        assert_eq!(interim, b"HTTP/1.1 100 Continue\r\n\r\n");
        assert_eq!(request.body, b"hi");
    }

    #[test]
    fn truncated_body_is_an_error_and_clean_eof_is_none() {
        assert!(parse(b"").unwrap().is_none());
        let raw = b"POST / HTTP/1.1\r\nContent-Length: 10\r\n\r\nabc";
        assert_eq!(
            parse(raw).err().map(|e| e.kind()),
            Some(io::ErrorKind::UnexpectedEof)
        );
    }
}
