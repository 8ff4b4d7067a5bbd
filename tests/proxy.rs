//! Proxies by curl's and Go's conventions, over real HTTP: a local receiver stands in for the
//! proxy and records what reached it. `HTTP_PROXY` carries `http://` endpoints as
//! absolute-form requests, `HTTPS_PROXY` tunnels `https://` endpoints with `CONNECT`,
//! `ALL_PROXY` serves both, `NO_PROXY` goes direct, and one scheme's variable never applies
//! to the other.

mod support;

use std::time::{Duration, Instant};

use mackerel_trace::testing::{Receiver, Reply};

/// A host that does not resolve: only a proxy can deliver to it.
const UNRESOLVABLE: &str = "otlp.mackerel-trace.invalid";

#[test]
fn http_proxy_gets_an_absolute_form_post_for_an_http_endpoint() {
    let _one = support::exclusive();
    let proxy = Receiver::start();
    let endpoint = format!("http://{UNRESOLVABLE}:4318/v1/traces");
    let proxy_url = format!("http://user:p%40ss@{}", proxy.local_addr());
    let guard = support::start(support::config(
        &endpoint,
        &[("HTTP_PROXY", &proxy_url), ("MACKEREL_APIKEY", "proxy-key")],
    ));
    support::record_spans("via-proxy", 3, 0);
    let stats = guard.shutdown();

    let requests = proxy.requests();
    assert_eq!(requests.len(), 1);
    let request = &requests[0];
    assert_eq!(request.method, "POST");
    assert_eq!(request.target, endpoint, "absolute-form request target");
    assert_eq!(
        request.header("host"),
        Some(&*format!("{UNRESOLVABLE}:4318"))
    );
    // base64("user:p@ss")
    assert_eq!(
        request.header("proxy-authorization"),
        Some("Basic dXNlcjpwQHNz")
    );
    assert_eq!(request.header("mackerel-api-key"), Some("proxy-key"));
    assert_eq!(request.header("accept"), Some("*/*"));
    assert_eq!(request.header("content-encoding"), Some("gzip"));
    assert_eq!(request.spans().len(), 3);
    assert_eq!(stats.exported, 3);
}

#[test]
fn https_proxy_gets_a_connect_for_an_https_endpoint_and_a_refusal_is_a_counted_failure() {
    let _one = support::exclusive();
    let proxy = Receiver::with_script([Reply::status(403), Reply::status(403)]);
    let endpoint = format!("https://{UNRESOLVABLE}/v1/traces");
    let proxy_url = format!("http://{}", proxy.local_addr());
    let guard = support::start(support::config(
        &endpoint,
        &[
            ("https_proxy", &proxy_url),
            ("MACKEREL_APIKEY", "tunnel-key"),
        ],
    ));
    support::record_spans("tunnel", 2, 0);
    let stats = guard.shutdown();

    let requests = proxy.requests();
    assert!(!requests.is_empty());
    for request in &requests {
        assert_eq!(request.method, "CONNECT");
        assert_eq!(request.target, format!("{UNRESOLVABLE}:443"));
        assert_eq!(
            request.header("mackerel-api-key"),
            None,
            "the key goes inside the tunnel only"
        );
    }
    assert_eq!(stats.exported, 0);
    assert_eq!(stats.dropped_export_failed, 2);
}

#[test]
fn all_proxy_serves_http_endpoints_too() {
    let _one = support::exclusive();
    let proxy = Receiver::start();
    let endpoint = format!("http://{UNRESOLVABLE}:4318/v1/traces");
    let guard = support::start(support::config(
        &endpoint,
        &[("ALL_PROXY", &proxy.local_addr().to_string())],
    ));
    support::record_spans("all", 1, 0);
    let stats = guard.shutdown();
    let requests = proxy.requests();
    assert_eq!(requests.len(), 1);
    assert_eq!(requests[0].target, endpoint);
    assert_eq!(stats.exported, 1);
}

#[test]
fn only_the_other_schemes_proxy_variable_means_direct() {
    let _one = support::exclusive();
    let proxy = Receiver::start();
    let collector = Receiver::start();
    let proxy_url = format!("http://{}", proxy.local_addr());
    let guard = support::start(support::config(
        &collector.endpoint(),
        &[("HTTPS_PROXY", &proxy_url), ("https_proxy", &proxy_url)],
    ));
    support::record_spans("direct", 2, 0);
    let stats = guard.shutdown();
    assert!(
        proxy.requests().is_empty(),
        "HTTPS_PROXY applied to http://"
    );
    assert_eq!(collector.spans().len(), 2);
    assert_eq!(collector.requests()[0].target, "/v1/traces");
    assert_eq!(stats.exported, 2);
}

#[test]
fn no_proxy_hosts_go_direct() {
    let _one = support::exclusive();
    let proxy = Receiver::start();
    let collector = Receiver::start();
    let proxy_url = format!("http://{}", proxy.local_addr());
    for no_proxy in ["127.0.0.1", "localhost,127.0.0.0/8", "*"] {
        let guard = support::start(support::config(
            &collector.endpoint(),
            &[("HTTP_PROXY", &proxy_url), ("NO_PROXY", no_proxy)],
        ));
        support::record_spans("no-proxy", 1, 0);
        let stats = guard.shutdown();
        assert_eq!(stats.exported, 1, "NO_PROXY={no_proxy}");
    }
    assert!(
        proxy.requests().is_empty(),
        "a NO_PROXY host went through the proxy"
    );
    assert_eq!(collector.spans().len(), 3);
}

#[test]
fn an_unreachable_proxy_is_a_counted_failure_within_the_export_timeout() {
    let _one = support::exclusive();
    let proxy_url = format!("http://127.0.0.1:{}", support::unused_port());
    let guard = support::start(
        support::config(
            &format!("http://{UNRESOLVABLE}:4318/v1/traces"),
            &[
                ("HTTP_PROXY", &proxy_url),
                ("OTEL_EXPORTER_OTLP_TIMEOUT", "1000"),
            ],
        )
        .shutdown_timeout(Duration::from_secs(3)),
    );
    support::record_spans("dead-proxy", 4, 0);
    let started = Instant::now();
    let stats = guard.shutdown();
    let took = started.elapsed();
    assert!(took < Duration::from_secs(3), "took {took:?}");
    assert_eq!(stats.dropped_export_failed, 4);
    assert_eq!(stats.exported, 0);
}

#[test]
fn a_proxy_that_never_answers_cannot_hold_shutdown_past_its_bound() {
    let _one = support::exclusive();
    let proxy = Receiver::with_script([Reply::hang()]);
    let guard = support::start(
        support::config(
            &format!("http://{UNRESOLVABLE}:4318/v1/traces"),
            &[("HTTP_PROXY", &proxy.local_addr().to_string())],
        )
        .shutdown_timeout(Duration::from_secs(1)),
    );
    support::record_spans("hung-proxy", 1, 0);
    let started = Instant::now();
    guard.shutdown();
    let took = started.elapsed();
    assert!(took < Duration::from_millis(1_500), "took {took:?}");
}

#[test]
fn a_proxy_url_of_an_unsupported_scheme_is_a_configuration_error_naming_the_variable() {
    let err = support::config(
        "https://otlp.example/v1/traces",
        &[("HTTPS_PROXY", "socks5://user:secret@proxy:1080")],
    )
    .resolve()
    .unwrap_err();
    assert_eq!(err.origin(), "HTTPS_PROXY");
    let text = err.to_string();
    assert!(text.contains("socks5"), "{text}");
    assert!(
        !text.contains("secret"),
        "the proxy password leaked: {text}"
    );
}
