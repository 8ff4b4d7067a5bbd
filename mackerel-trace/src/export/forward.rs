//! A request to an `http://` endpoint through an HTTP proxy, in absolute form
//! (`POST http://host:port/v1/traces`), as proxies expect for plain HTTP. ureq 3 only
//! tunnels (`CONNECT`), which proxies commonly refuse for ports other than 443.
//!
//! One connection per request (`Connection: close`): exports are seconds apart.

use std::io::{self, Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::time::{Duration, Instant};

use base64::Engine as _;
use http::header::{HeaderName, HeaderValue};
use opentelemetry_http::{Bytes, Response};

use crate::settings::Proxy;

/// Longest response head accepted from the proxy.
const MAX_HEAD: usize = 64 * 1024;

pub(super) fn post(
    proxy: &Proxy,
    uri: &http::Uri,
    headers: &[(HeaderName, HeaderValue)],
    body: &[u8],
    timeout: Duration,
    max_body: u64,
) -> io::Result<Response<Bytes>> {
    let deadline = Instant::now() + timeout;
    let mut stream = connect(proxy, timeout)?;
    let mut head = format!(
        "POST {uri} HTTP/1.1\r\nHost: {}\r\nContent-Length: {}\r\nConnection: close\r\n",
        uri.authority().map_or("", |a| a.as_str()),
        body.len()
    )
    .into_bytes();
    if let Some(credentials) = &proxy.credentials {
        let encoded = base64::engine::general_purpose::STANDARD.encode(credentials);
        head.extend_from_slice(format!("Proxy-Authorization: Basic {encoded}\r\n").as_bytes());
    }
    for (name, value) in headers {
        head.extend_from_slice(name.as_str().as_bytes());
        head.extend_from_slice(b": ");
        head.extend_from_slice(value.as_bytes());
        head.extend_from_slice(b"\r\n");
    }
    head.extend_from_slice(b"\r\n");
    with_deadline(&stream, deadline)?;
    stream.write_all(&head)?;
    stream.write_all(body)?;
    stream.flush()?;
    read_response(&mut stream, deadline, max_body)
}

fn connect(proxy: &Proxy, timeout: Duration) -> io::Result<TcpStream> {
    let mut last = io::Error::new(io::ErrorKind::NotFound, "the proxy host has no address");
    for address in (proxy.host.as_str(), proxy.port).to_socket_addrs()? {
        match TcpStream::connect_timeout(&address, timeout) {
            Ok(stream) => return Ok(stream),
            Err(err) => last = err,
        }
    }
    Err(last)
}

fn with_deadline(stream: &TcpStream, deadline: Instant) -> io::Result<()> {
    let left = deadline.saturating_duration_since(Instant::now());
    if left.is_zero() {
        return Err(io::Error::new(io::ErrorKind::TimedOut, "timed out"));
    }
    stream.set_read_timeout(Some(left))?;
    stream.set_write_timeout(Some(left))
}

/// The status and `Retry-After` of the answer, and its body up to `max_body` bytes.
fn read_response(
    stream: &mut TcpStream,
    deadline: Instant,
    max_body: u64,
) -> io::Result<Response<Bytes>> {
    let mut buffer = Vec::with_capacity(1024);
    let mut chunk = [0u8; 4096];
    let (status, retry_after, head_len, content_length) = loop {
        with_deadline(stream, deadline)?;
        let read = stream.read(&mut chunk)?;
        if read == 0 {
            return Err(invalid("the proxy closed the connection without an answer"));
        }
        buffer.extend_from_slice(&chunk[..read]);
        let mut headers = [httparse::EMPTY_HEADER; 64];
        let mut response = httparse::Response::new(&mut headers);
        match response.parse(&buffer) {
            Ok(httparse::Status::Complete(head_len)) => {
                let header = |name: &str| {
                    response
                        .headers
                        .iter()
                        .find(|h| h.name.eq_ignore_ascii_case(name))
                        .map(|h| h.value.to_vec())
                };
                let content_length = header("content-length")
                    .and_then(|v| std::str::from_utf8(&v).ok()?.trim().parse::<u64>().ok());
                break (
                    response.code.unwrap_or(0),
                    header("retry-after"),
                    head_len,
                    content_length,
                );
            }
            Ok(httparse::Status::Partial) if buffer.len() < MAX_HEAD => {}
            Ok(httparse::Status::Partial) => return Err(invalid("the proxy's answer is too long")),
            Err(err) => return Err(invalid(&format!("the proxy's answer is not HTTP ({err})"))),
        }
    };
    let want = content_length.unwrap_or(max_body).min(max_body);
    let mut body = buffer.split_off(head_len);
    while (body.len() as u64) < want {
        if with_deadline(stream, deadline).is_err() {
            break;
        }
        match stream.read(&mut chunk) {
            Ok(0) | Err(_) => break,
            Ok(read) => body.extend_from_slice(&chunk[..read]),
        }
    }
    body.truncate(usize::try_from(want).unwrap_or(usize::MAX));
    let mut answer = Response::builder().status(status);
    if let Some(value) = retry_after {
        answer = answer.header(http::header::RETRY_AFTER, value);
    }
    answer
        .body(Bytes::from(body))
        .map_err(|err| invalid(&err.to_string()))
}

fn invalid(why: &str) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, why.to_owned())
}
