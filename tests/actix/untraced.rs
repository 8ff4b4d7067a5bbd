//! Paths left untraced: no span, nothing the handler (or a middleware inside) calls starts a
//! trace, the requests it sends say "not sampled", and every other request is traced as before.

use mackerel_trace::actix::Middleware;

use crate::server::{by_name, server, with_middleware};

#[test]
fn an_untraced_path_has_no_span_and_nothing_its_handler_calls_starts_a_trace() {
    let middleware = Middleware::new().untraced(["/healthz", "/health/*"]);
    let spans = with_middleware(middleware, |base, client, _served| async move {
        let get = |path: &str| {
            let request = client.get(format!("{base}{path}"));
            async move { request.send().await.unwrap().text().await.unwrap() }
        };
        // What the health check sent on: a valid parent, not sampled.
        let sent = get("/healthz").await;
        let parts: Vec<&str> = sent.split('-').collect();
        assert_eq!(parts.len(), 4, "a traceparent was sent: {sent:?}");
        assert_eq!((parts[0], parts[3]), ("00", "00"), "{sent}");
        assert_eq!((parts[1].len(), parts[2].len()), (32, 16), "{sent}");
        assert_ne!(parts[1], "0".repeat(32));

        assert!(get("/healthz?verbose=1").await.ends_with("-00"));
        assert_eq!(get("/health/live").await, "ok");
        assert!(get("/orders/7").await.starts_with("order 70"));
    });
    // Not the probes, the middleware's and their `#[traced]` calls, the client call nor the
    // server span of the service it called: only the order's.
    let mut names: Vec<&str> = spans.iter().map(|s| s.name.as_ref()).collect();
    names.sort_unstable();
    assert_eq!(
        names,
        ["GET /orders/{id}", "authorize", "load_order", "price"]
    );
    let order = server(&spans, "GET /orders/{id}");
    for child in ["authorize", "load_order", "price"] {
        assert_eq!(
            by_name(&spans, child).parent_span_id,
            order.span_context.span_id()
        );
    }
}
