//! The span ends with the response body: after its last chunk, or when actix drops it.

use std::time::{Duration, SystemTime};

use actix_web::web::Bytes;
use tokio::sync::mpsc;

use crate::server::{int, server, with_server};

#[test]
fn a_streaming_body_is_inside_the_server_span() {
    let released = std::rc::Rc::new(std::cell::Cell::new(SystemTime::UNIX_EPOCH));
    let released_at = released.clone();
    let spans = with_server(|base, client, served| async move {
        let (chunks, receiver) = mpsc::unbounded_channel();
        *served.gate.lock().unwrap() = Some(receiver);
        chunks.send(Bytes::from_static(b"first ")).unwrap();
        let mut response = client.get(format!("{base}/stream")).send().await.unwrap();
        assert_eq!(response.status(), 200);
        assert_eq!(response.chunk().await.unwrap().unwrap(), "first ");

        // The head and a chunk are out, the body is not done: the span goes on.
        assert_eq!(served.ended("GET /stream"), 0);

        released_at.set(SystemTime::now());
        chunks.send(Bytes::from_static(b"last")).unwrap();
        drop(chunks);
        let mut rest = Vec::new();
        while let Some(chunk) = response.chunk().await.unwrap() {
            rest.extend_from_slice(&chunk);
        }
        assert_eq!(rest, b"last");
        served.wait_until_ended("GET /stream").await;
    });
    let span = server(&spans, "GET /stream");
    assert!(
        span.end_time >= released.get(),
        "the span ended before the body did"
    );
    assert_eq!(int(span, "http.response.status_code"), Some(200));
}

#[test]
fn a_body_dropped_unfinished_ends_the_span() {
    let spans = with_server(|base, client, served| async move {
        let (chunks, receiver) = mpsc::unbounded_channel();
        *served.gate.lock().unwrap() = Some(receiver);
        chunks.send(Bytes::from_static(b"first ")).unwrap();
        let mut response = client.get(format!("{base}/stream")).send().await.unwrap();
        assert_eq!(response.chunk().await.unwrap().unwrap(), "first ");
        drop(response); // the client goes away mid-body

        // Writing to the closed connection fails, and actix drops the body. The sender stays
        // open throughout, so the body never ends by itself.
        for _ in 0..500 {
            if served.ended("GET /stream") > 0 {
                break;
            }
            let _ = chunks.send(Bytes::from_static(b"more "));
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        assert_eq!(served.ended("GET /stream"), 1, "the span ended");
        // The test never closed the sender, so the body did not end by itself: actix dropped it.
        assert!(chunks.is_closed(), "actix dropped the body");
    });
    let span = server(&spans, "GET /stream");
    assert_eq!(int(span, "http.response.status_code"), Some(200));
}
