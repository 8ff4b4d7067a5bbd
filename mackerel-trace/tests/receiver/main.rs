//! The test receiver over real HTTP on 127.0.0.1: decoding, keep-alive, chunked bodies, and the
//! scripted failures (status codes, closed connections, hangs) exporter tests rely on; OTLP logs
//! in `logs.rs` (feature `logs`).

mod client;
#[cfg(feature = "logs")]
mod logs;

use std::io::{Read as _, Write as _};
use std::net::TcpStream;
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use mackerel_trace::testing::{Receiver, Reply};
use prost::Message as _;

use client::{agent, export, gzip, post_gzip};

/// Upper bound for anything that should happen promptly, so a broken receiver fails, not hangs.
const PROMPTLY: Duration = Duration::from_secs(10);

#[test]
fn gzipped_export_is_decoded_with_spans_resource_scope_and_headers() {
    let receiver = Receiver::start();
    let status = agent(PROMPTLY)
        .post(receiver.endpoint())
        .header("Content-Type", "application/x-protobuf")
        .header("Content-Encoding", "gzip")
        .header("Accept", "*/*")
        .header("Mackerel-Api-Key", "test-key")
        .send(gzip(
            &export(&["GET /orders", "SELECT orders"]).encode_to_vec(),
        ))
        .unwrap()
        .status();
    assert_eq!(status, 200);

    let requests = receiver.requests();
    assert_eq!(requests.len(), 1);
    let request = &requests[0];
    assert_eq!(request.method, "POST");
    assert_eq!(request.path, "/v1/traces");
    assert_eq!(request.status, Some(200));
    assert_eq!(request.header("Mackerel-Api-Key"), Some("test-key"));
    assert_eq!(request.header("accept"), Some("*/*"));
    assert!(request
        .headers
        .iter()
        .all(|(name, _)| *name == name.to_lowercase()));
    let encoded = export(&["GET /orders", "SELECT orders"]).encode_to_vec();
    assert_eq!(request.decoded_len, encoded.len());
    assert_eq!(request.body_len, gzip(&encoded).len());
    assert_eq!(request.decode_error, None);

    let spans = receiver.spans();
    let names: Vec<_> = spans.iter().map(|span| span.name()).collect();
    assert_eq!(names, ["GET /orders", "SELECT orders"]);
    let span = &spans[0];
    assert_eq!(span.string_attr("http.route"), Some("/orders"));
    assert_eq!(span.int_attr("order.count"), Some(3));
    assert_eq!(span.string_attr("order.count"), None);
    assert_eq!(span.attr("missing"), None);
    assert_eq!(span.resource_string_attr("service.name"), Some("shop"));
    assert_eq!(span.scope_name, "shop::orders");
    assert_eq!(span.scope_version, "1.2.3");
    assert_eq!(span.trace_id(), "11".repeat(16));
    assert_eq!(span.span_id(), "01".repeat(8));
    assert_eq!(span.parent_span_id(), None);
}

#[test]
fn uncompressed_export_is_decoded_and_both_lengths_match() {
    let receiver = Receiver::start();
    let body = export(&["plain"]).encode_to_vec();
    agent(PROMPTLY)
        .post(receiver.endpoint())
        .header("Content-Type", "application/x-protobuf")
        .send(&body[..])
        .unwrap();

    let request = &receiver.requests()[0];
    assert_eq!(request.header("content-encoding"), None);
    assert_eq!(
        (request.body_len, request.decoded_len),
        (body.len(), body.len())
    );
    assert_eq!(receiver.spans()[0].name(), "plain");
}

#[test]
fn one_agent_sends_several_requests_over_one_kept_alive_connection() {
    let receiver = Receiver::start();
    let agent = agent(PROMPTLY);
    for name in ["first", "second", "third"] {
        assert_eq!(post_gzip(&agent, &receiver, &[name]).unwrap(), 200);
    }

    let requests = receiver.requests();
    assert_eq!(requests.len(), 3);
    assert!(requests
        .iter()
        .all(|request| request.connection == requests[0].connection));
    let names: Vec<_> = receiver
        .spans()
        .iter()
        .map(|s| s.name().to_owned())
        .collect();
    assert_eq!(names, ["first", "second", "third"]);
}

#[test]
fn chunked_body_from_a_streaming_client_is_reassembled() {
    let receiver = Receiver::start();
    let body = gzip(&export(&["streamed"]).encode_to_vec());
    let mut reader = &body[..];
    agent(PROMPTLY)
        .post(receiver.endpoint())
        .header("Content-Encoding", "gzip")
        .send(ureq::SendBody::from_reader(&mut reader))
        .unwrap();

    let request = &receiver.requests()[0];
    assert_eq!(request.header("transfer-encoding"), Some("chunked"));
    assert_eq!(request.body_len, body.len());
    assert_eq!(receiver.spans()[0].name(), "streamed");
}

#[test]
fn raw_pipelined_requests_with_chunked_body_and_shouting_headers_are_both_answered() {
    let receiver = Receiver::start();
    let body = gzip(&export(&["raw-chunked"]).encode_to_vec());
    let (head, tail) = body.split_at(body.len() / 2);
    let mut raw = Vec::new();
    raw.extend_from_slice(
        b"POST /v1/traces HTTP/1.1\r\nHOST: 127.0.0.1\r\nTRANSFER-ENCODING: chunked\r\n\
          CONTENT-ENCODING: GZIP\r\n\r\n",
    );
    for chunk in [head, tail] {
        raw.extend_from_slice(format!("{:X};note=x\r\n", chunk.len()).as_bytes());
        raw.extend_from_slice(chunk);
        raw.extend_from_slice(b"\r\n");
    }
    raw.extend_from_slice(b"0\r\n\r\n");
    let plain = export(&["raw-length"]).encode_to_vec();
    raw.extend_from_slice(
        format!(
            "POST /v1/traces HTTP/1.1\r\ncontent-length: {}\r\nConnection: close\r\n\r\n",
            plain.len()
        )
        .as_bytes(),
    );
    raw.extend_from_slice(&plain);

    let mut stream = TcpStream::connect(receiver.local_addr()).unwrap();
    stream.set_read_timeout(Some(PROMPTLY)).unwrap();
    stream.write_all(&raw).unwrap();
    let mut answers = String::new();
    // The second request asked to close, so the receiver ends the stream after answering it.
    stream.read_to_string(&mut answers).unwrap();

    assert_eq!(
        answers.matches("HTTP/1.1 200 OK\r\n").count(),
        2,
        "{answers}"
    );
    assert!(answers.ends_with("Connection: close\r\n\r\n"), "{answers}");
    let names: Vec<_> = receiver
        .spans()
        .iter()
        .map(|s| s.name().to_owned())
        .collect();
    assert_eq!(names, ["raw-chunked", "raw-length"]);
}

#[test]
fn scripted_503_is_recorded_and_its_spans_are_left_out_until_the_retry_gets_200() {
    let receiver = Receiver::with_script(vec![Reply::status(503)]);
    let agent = agent(PROMPTLY);
    assert_eq!(post_gzip(&agent, &receiver, &["export"]).unwrap(), 503);
    assert!(receiver.spans().is_empty());
    assert_eq!(post_gzip(&agent, &receiver, &["export"]).unwrap(), 200);

    let statuses: Vec<_> = receiver.requests().iter().map(|r| r.status).collect();
    assert_eq!(statuses, [Some(503), Some(200)]);
    assert!(!receiver.requests()[0].accepted());
    assert_eq!(receiver.requests()[0].spans().len(), 1);
    assert_eq!(receiver.spans().len(), 1);
}

#[test]
fn scripted_429_carries_retry_after_and_a_body() {
    let receiver = Receiver::with_script(vec![Reply::status(429)
        .header("Retry-After", "1")
        .body("slow down")]);
    let mut response = agent(PROMPTLY)
        .post(receiver.endpoint())
        .send(&export(&["limited"]).encode_to_vec()[..])
        .unwrap();

    assert_eq!(response.status(), 429);
    assert_eq!(response.headers()["retry-after"], "1");
    assert_eq!(response.body_mut().read_to_string().unwrap(), "slow down");
}

#[test]
fn ok_answers_with_an_empty_protobuf_export_response() {
    let receiver = Receiver::start();
    let response = agent(PROMPTLY)
        .post(receiver.endpoint())
        .send(&export(&["x"]).encode_to_vec()[..])
        .unwrap();
    assert_eq!(response.headers()["content-type"], "application/x-protobuf");
}

#[test]
fn close_gives_the_client_a_connection_error_and_still_records_the_request() {
    let receiver = Receiver::with_script(vec![Reply::close()]);
    let agent = agent(PROMPTLY);
    let error = post_gzip(&agent, &receiver, &["dropped"]).unwrap_err();
    assert!(
        !matches!(error, ureq::Error::StatusCode(_) | ureq::Error::Timeout(_)),
        "{error:?}"
    );

    let requests = receiver.requests();
    assert_eq!(requests.len(), 1);
    assert_eq!(requests[0].status, None);
    assert!(receiver.spans().is_empty());
    // The next request gets a fresh connection and the default answer.
    assert_eq!(post_gzip(&agent, &receiver, &["retried"]).unwrap(), 200);
    assert_ne!(receiver.requests()[1].connection, requests[0].connection);
}

#[test]
fn hang_makes_a_client_with_a_500_ms_timeout_time_out() {
    let receiver = Receiver::with_script(vec![Reply::hang()]);
    let started = Instant::now();
    let error = post_gzip(&agent(Duration::from_millis(500)), &receiver, &["stuck"]).unwrap_err();

    assert!(matches!(error, ureq::Error::Timeout(_)), "{error:?}");
    assert!(started.elapsed() >= Duration::from_millis(450));
    assert!(started.elapsed() < PROMPTLY);
    assert_eq!(receiver.wait_for_requests(1, PROMPTLY)[0].status, None);
}

#[test]
fn delayed_reply_answers_after_its_delay() {
    let receiver = Receiver::with_script(vec![Reply::delay(Duration::from_millis(300))]);
    let started = Instant::now();
    assert_eq!(
        post_gzip(&agent(PROMPTLY), &receiver, &["late"]).unwrap(),
        200
    );
    assert!(started.elapsed() >= Duration::from_millis(300));
}

#[test]
fn undecodable_body_is_recorded_with_its_error() {
    let receiver = Receiver::with_script(vec![Reply::status(400), Reply::ok()]);
    let agent = agent(PROMPTLY);
    for body in [
        &b"not gzip at all"[..],
        &gzip(b"\xff\xff\xff not protobuf")[..],
    ] {
        agent
            .post(receiver.endpoint())
            .header("Content-Encoding", "gzip")
            .send(body)
            .unwrap();
    }

    let requests = receiver.requests();
    assert!(requests.iter().all(|request| request.request.is_none()));
    assert!(requests[0]
        .decode_error
        .as_deref()
        .unwrap()
        .starts_with("gzip"));
    assert!(requests[1]
        .decode_error
        .as_deref()
        .unwrap()
        .starts_with("protobuf"));
    assert!(receiver.spans().is_empty());
}

#[test]
fn wait_for_spans_returns_what_arrived_by_the_timeout() {
    let receiver = Receiver::start();
    let endpoint_agent = agent(PROMPTLY);
    thread::scope(|scope| {
        scope.spawn(|| {
            thread::sleep(Duration::from_millis(100));
            post_gzip(&endpoint_agent, &receiver, &["a", "b"]).unwrap();
        });
        assert_eq!(receiver.wait_for_spans(2, PROMPTLY).len(), 2);
    });

    let started = Instant::now();
    assert_eq!(
        receiver.wait_for_spans(5, Duration::from_millis(200)).len(),
        2
    );
    assert!(started.elapsed() >= Duration::from_millis(200));
}

#[test]
fn dropping_the_receiver_ends_hanging_and_idle_connections_and_frees_the_port() {
    let receiver = Receiver::with_script(vec![Reply::ok(), Reply::hang()]);
    let addr = receiver.local_addr();
    // One connection idle in keep-alive, one waiting on a hung answer.
    let idle = agent(PROMPTLY);
    post_gzip(&idle, &receiver, &["idle"]).unwrap();
    let hanging = thread::spawn({
        let endpoint = receiver.endpoint();
        move || {
            agent(PROMPTLY)
                .post(endpoint)
                .send(&export(&["hung"]).encode_to_vec()[..])
                .map(|_| ())
        }
    });
    receiver.wait_for_requests(2, PROMPTLY);

    let (dropped, done) = mpsc::channel();
    thread::spawn(move || {
        drop(receiver);
        dropped.send(()).unwrap();
    });
    done.recv_timeout(PROMPTLY).expect("drop returns promptly");

    // The hung client sees its connection end rather than waiting for its own timeout.
    let started = Instant::now();
    assert!(hanging.join().unwrap().is_err());
    assert!(started.elapsed() < PROMPTLY);
    assert!(TcpStream::connect_timeout(&addr, Duration::from_secs(1)).is_err());
}
