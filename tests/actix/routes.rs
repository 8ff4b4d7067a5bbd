//! `http.route`: the pattern of the resource that handled the request, and none when no
//! resource did.

use mackerel_trace::opentelemetry::trace::SpanKind;

use crate::server::{attr, int, is_error, names, server, string, with_server};

#[test]
fn the_route_is_the_resource_that_handled_the_request_with_overlapping_patterns() {
    let spans = with_server(|base, client, _served| async move {
        let send = |request: reqwest::RequestBuilder| async move {
            request.send().await.unwrap().text().await.unwrap()
        };
        // `/items/{key}` (POST) is registered before `/items/recommend` (GET).
        assert_eq!(
            send(client.get(format!("{base}/items/recommend"))).await,
            "recommended"
        );
        // `/things/recommend` (GET) is registered before `/things/{key}` (POST).
        assert_eq!(
            send(client.post(format!("{base}/things/recommend"))).await,
            "updated"
        );
    });
    let get = server(&spans, "GET /items/recommend");
    assert_eq!(
        string(get, "http.route").as_deref(),
        Some("/items/recommend")
    );
    assert_eq!(string(get, "url.path").as_deref(), Some("/items/recommend"));
    let post = server(&spans, "POST /things/{key}");
    assert_eq!(string(post, "http.route").as_deref(), Some("/things/{key}"));
    assert_eq!(
        string(post, "url.path").as_deref(),
        Some("/things/recommend")
    );
    let servers = spans.iter().filter(|s| s.span_kind == SpanKind::Server);
    assert_eq!(servers.count(), 2, "{:?}", names(&spans));
}

#[test]
fn a_request_no_resource_took_has_no_route_even_where_a_pattern_fits_its_path() {
    let spans = with_server(|base, client, _served| async move {
        for request in [
            client.get(format!("{base}/nowhere/42")),
            // Fits `/things/{key}`, which takes only POST: the app's default service answers.
            client.get(format!("{base}/things/7")),
            // Fits `/api/items/{key}`, which takes only GET: the scope's default answers.
            client.delete(format!("{base}/api/items/7")),
        ] {
            let response = request.send().await.unwrap();
            assert_eq!(response.status(), 404);
        }
    });
    let mut paths = Vec::new();
    for span in spans.iter().filter(|s| s.span_kind == SpanKind::Server) {
        assert!(span.name == "GET" || span.name == "DELETE", "{}", span.name);
        assert!(attr(span, "http.route").is_none(), "{:?}", span.attributes);
        assert_eq!(int(span, "http.response.status_code"), Some(404));
        assert!(!is_error(span), "a 404 is the client's error");
        paths.push(string(span, "url.path").unwrap());
    }
    paths.sort();
    assert_eq!(paths, ["/api/items/7", "/nowhere/42", "/things/7"]);
}
