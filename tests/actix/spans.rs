//! The span of a request: its place in the trace, its attributes and status, panics.

use mackerel_trace::opentelemetry::trace::{SpanKind, Status};
use mackerel_trace::reqwest::RequestBuilderExt as _;
use mackerel_trace::traced;

use crate::server::{attr, by_name, int, is_error, server, string, with_server};

#[test]
fn a_request_is_a_server_span_current_in_middleware_and_handler_with_route_and_status() {
    let body = std::rc::Rc::new(std::cell::RefCell::new(String::new()));
    let received = body.clone();
    let spans = with_server(|base, client, _served| async move {
        #[traced(root)]
        async fn checkout(url: String, client: reqwest::Client) -> String {
            let response = client.get(url).send_traced().await.unwrap();
            response.text().await.unwrap()
        }
        let url = format!("{base}/orders/7?token=s3cret");
        *received.borrow_mut() = checkout(url, client).await;
    });
    let root = by_name(&spans, "checkout");
    let client = spans
        .iter()
        .find(|s| s.span_kind == SpanKind::Client)
        .expect("a client span");
    let server = server(&spans, "GET /orders/{id}");

    // One trace: checkout → CLIENT → SERVER → the middleware's and the handler's spans.
    assert_eq!(server.span_context.trace_id(), root.span_context.trace_id());
    assert_eq!(server.parent_span_id, client.span_context.span_id());
    assert!(server.parent_span_is_remote);
    for child in ["authorize", "price", "load_order"] {
        let child = by_name(&spans, child);
        assert_eq!(child.span_context.trace_id(), root.span_context.trace_id());
        assert_eq!(
            child.parent_span_id,
            server.span_context.span_id(),
            "{} is a child of the server span",
            child.name
        );
    }
    assert_eq!(int(by_name(&spans, "load_order"), "order.id"), Some(7));
    // `Context::current()` in the handler, after an await, is the server span.
    let current = format!("span {}", server.span_context.span_id());
    assert_eq!(*body.borrow(), format!("order 70 at 8, {current}"));

    assert_eq!(server.span_kind, SpanKind::Server);
    assert_eq!(
        string(server, "http.request.method").as_deref(),
        Some("GET")
    );
    assert_eq!(
        string(server, "http.route").as_deref(),
        Some("/orders/{id}")
    );
    assert_eq!(string(server, "url.path").as_deref(), Some("/orders/7"));
    assert_eq!(string(server, "url.scheme").as_deref(), Some("http"));
    assert_eq!(int(server, "http.response.status_code"), Some(200));
    assert_eq!(
        string(server, "server.address").as_deref(),
        Some("127.0.0.1")
    );
    assert!(int(server, "server.port").is_some_and(|port| port > 0));
    assert_eq!(
        string(server, "network.protocol.version").as_deref(),
        Some("1.1")
    );
    assert!(
        attr(server, "url.query").is_none(),
        "the query is not recorded"
    );
    assert!(!spans.iter().any(|s| s
        .attributes
        .iter()
        .any(|kv| format!("{:?}", kv.value).contains("s3cret"))));
    assert_eq!(server.status, Status::Unset);
}

#[test]
fn a_5xx_is_an_error_a_4xx_is_not_and_a_failing_middleware_gives_its_status() {
    let spans = with_server(|base, client, _served| async move {
        for (path, status) in [("/fail", 503), ("/bad", 400), ("/maintenance/orders", 503)] {
            let response = client.get(format!("{base}{path}")).send().await.unwrap();
            assert_eq!(response.status(), status, "{path}");
        }
    });
    let fail = server(&spans, "GET /fail");
    assert_eq!(int(fail, "http.response.status_code"), Some(503));
    assert_eq!(string(fail, "error.type").as_deref(), Some("503"));
    assert!(is_error(fail));

    let bad = server(&spans, "GET /bad");
    assert_eq!(int(bad, "http.response.status_code"), Some(400));
    assert!(attr(bad, "error.type").is_none());
    assert_eq!(bad.status, Status::Unset);

    // The middleware's `Err` carries no request, so the route is not known.
    let maintenance = spans
        .iter()
        .find(|s| string(s, "url.path").as_deref() == Some("/maintenance/orders"))
        .expect("the failing middleware's request");
    assert_eq!(int(maintenance, "http.response.status_code"), Some(503));
    assert_eq!(string(maintenance, "error.type").as_deref(), Some("503"));
    assert!(is_error(maintenance));
}

#[test]
fn a_panicking_handler_ends_its_span_with_an_exception_event_and_the_server_goes_on() {
    let spans = with_server(|base, client, _served| async move {
        // actix-web does not catch the panic: the connection closes without a response.
        assert!(client.get(format!("{base}/panic")).send().await.is_err());
        let after = client.get(format!("{base}/baggage")).send().await.unwrap();
        assert_eq!(after.status(), 200);
    });
    // The request, which knows the route, unwinds with the handler: the span is listed by
    // its path.
    let span = spans
        .iter()
        .find(|s| string(s, "url.path").as_deref() == Some("/panic"))
        .expect("the panicking request's span");
    assert_eq!(span.span_kind, SpanKind::Server);
    assert_eq!(string(span, "http.request.method").as_deref(), Some("GET"));
    match &span.status {
        Status::Error { description } => assert_eq!(description, "handler exploded"),
        other => panic!("status {other:?}"),
    }
    let event = span
        .events
        .iter()
        .find(|e| e.name == "exception")
        .expect("an exception event");
    let value = |key: &str| {
        event
            .attributes
            .iter()
            .find(|kv| kv.key.as_str() == key)
            .map(|kv| kv.value.to_string())
    };
    assert_eq!(value("exception.type").as_deref(), Some("panic"));
    assert_eq!(
        value("exception.message").as_deref(),
        Some("handler exploded")
    );
    server(&spans, "GET /baggage");
}

#[test]
fn a_remote_parent_with_w3c_level_2_flags_and_baggage_is_continued() {
    // Flags 03 (sampled + random), as the OpenTelemetry Python SDK sends them.
    let trace_id = "4bf92f3577b34da6a3ce929d0e0e4736";
    let parent_id = "00f067aa0ba902b7";
    let spans = with_server(|base, client, _served| async move {
        let echoed = client
            .get(format!("{base}/baggage"))
            .header("traceparent", format!("00-{trace_id}-{parent_id}-03"))
            .header("baggage", "tenant=blue")
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert_eq!(echoed, "blue", "baggage reaches the handler");
    });
    let span = server(&spans, "GET /baggage");
    assert_eq!(span.span_context.trace_id().to_string(), trace_id);
    assert_eq!(span.parent_span_id.to_string(), parent_id);
    assert!(span.parent_span_is_remote);
    assert!(span.span_context.is_sampled());
}
