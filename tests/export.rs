//! The pipeline over real HTTP to a local OTLP receiver: what is on the wire (headers,
//! compression, resource), how batches are cut by size, and what happens when the endpoint
//! fails, throttles, or does not answer.

mod support;

use std::time::{Duration, Instant};

use mackerel_trace::testing::{Receiver, Reply};

#[test]
fn requests_carry_protobuf_gzip_accept_key_and_configured_headers() {
    let _one = support::exclusive();
    let receiver = Receiver::start();
    let guard = support::start(
        support::config(
            &receiver.endpoint(),
            &[
                ("MACKEREL_APIKEY", "test-key-123"),
                ("OTEL_EXPORTER_OTLP_HEADERS", "x-tenant=blue%20team"),
            ],
        )
        .header("x-from-code", "yes"),
    );
    support::record_spans("wire", 3, 0);
    let stats = guard.shutdown();
    assert_eq!(stats.exported, 3);

    let requests = receiver.requests();
    assert_eq!(requests.len(), 1);
    let request = &requests[0];
    assert_eq!(request.method, "POST");
    assert_eq!(request.path, "/v1/traces");
    assert_eq!(
        request.header("content-type"),
        Some("application/x-protobuf")
    );
    assert_eq!(request.header("content-encoding"), Some("gzip"));
    assert_eq!(request.header("accept"), Some("*/*"));
    assert_eq!(request.header("mackerel-api-key"), Some("test-key-123"));
    assert_eq!(request.header("x-tenant"), Some("blue team"));
    assert_eq!(request.header("x-from-code"), Some("yes"));
    assert!(
        request.body_len < request.decoded_len,
        "gzip shrinks the body"
    );
    let spans = request.spans();
    let mut names: Vec<&str> = spans.iter().map(|s| s.name()).collect();
    names.sort_unstable();
    assert_eq!(names, ["wire-0", "wire-1", "wire-2"]);
}

#[test]
fn no_key_means_no_key_header_and_compression_none_is_plain_protobuf() {
    let _one = support::exclusive();
    let receiver = Receiver::start();
    let guard = support::start(support::config(
        &receiver.endpoint(),
        &[("OTEL_EXPORTER_OTLP_TRACES_COMPRESSION", "none")],
    ));
    support::record_spans("plain", 1, 0);
    guard.shutdown();
    let requests = receiver.requests();
    assert_eq!(requests.len(), 1);
    assert_eq!(requests[0].header("content-encoding"), None);
    assert_eq!(requests[0].header("mackerel-api-key"), None);
    assert_eq!(requests[0].header("accept"), Some("*/*"));
    assert_eq!(requests[0].body_len, requests[0].decoded_len);
    assert_eq!(requests[0].spans().len(), 1);
}

#[test]
fn generic_endpoint_variable_gets_v1_traces_appended_on_the_wire() {
    let _one = support::exclusive();
    let receiver = Receiver::start();
    let config = mackerel_trace::Config::new()
        .with_env_vars([("OTEL_EXPORTER_OTLP_ENDPOINT", receiver.base_url() + "/")])
        .schedule_delay(Duration::from_millis(50));
    let guard = support::start(config);
    support::record_spans("base", 1, 0);
    guard.shutdown();
    let requests = receiver.requests();
    assert_eq!(requests.len(), 1);
    assert_eq!(requests[0].path, "/v1/traces");
}

#[test]
fn traces_endpoint_variable_is_used_verbatim() {
    let _one = support::exclusive();
    let receiver = Receiver::start();
    let endpoint = receiver.base_url() + "/custom/ingest";
    let guard = support::start(support::config(&endpoint, &[]));
    support::record_spans("custom", 1, 0);
    guard.shutdown();
    assert_eq!(receiver.requests()[0].path, "/custom/ingest");
}

#[test]
fn resource_attributes_reach_the_wire() {
    let _one = support::exclusive();
    let receiver = Receiver::start();
    let guard = support::start(
        support::config(
            &receiver.endpoint(),
            &[
                (
                    "OTEL_RESOURCE_ATTRIBUTES",
                    "service.name=from-attrs,team=a%2Cb",
                ),
                ("OTEL_SERVICE_NAME", "from-env"),
            ],
        )
        .service_version("2.0.0")
        .environment("staging"),
    );
    support::record_spans("resource", 1, 0);
    guard.shutdown();
    let spans = receiver.spans();
    assert_eq!(spans.len(), 1);
    let span = &spans[0];
    assert_eq!(span.resource_string_attr("service.name"), Some("from-env"));
    assert_eq!(span.resource_string_attr("service.version"), Some("2.0.0"));
    assert_eq!(
        span.resource_string_attr("deployment.environment.name"),
        Some("staging")
    );
    assert_eq!(span.resource_string_attr("team"), Some("a,b"));
    assert_eq!(
        span.resource_string_attr("telemetry.sdk.language"),
        Some("rust")
    );
    assert!(span
        .resource_string_attr("host.name")
        .is_some_and(|h| !h.is_empty()));
    assert!(span
        .resource_string_attr("process.executable.name")
        .is_some());
    let pid = span
        .resource_attr("process.pid")
        .and_then(|v| v.value.clone());
    assert_eq!(
        pid,
        Some(mackerel_trace_proto_int(i64::from(std::process::id())))
    );
}

fn mackerel_trace_proto_int(
    value: i64,
) -> mackerel_trace::testing::proto::common::v1::any_value::Value {
    mackerel_trace::testing::proto::common::v1::any_value::Value::IntValue(value)
}

#[test]
fn a_burst_bigger_than_one_request_is_cut_into_requests_under_3_5_mib() {
    let _one = support::exclusive();
    let receiver = Receiver::start();
    let guard = support::start(
        support::config(&receiver.endpoint(), &[])
            .max_queue_size(12_000)
            .max_export_batch_size(12_000)
            .schedule_delay(Duration::from_secs(60))
            .shutdown_timeout(Duration::from_secs(60)),
    );
    // 12,000 spans of ~4 KiB: about 48 MiB of protobuf in one batch, so at least 14 requests.
    let created = 12_000;
    support::record_spans("burst", created, 4_096);
    let stats = guard.shutdown();

    let requests = receiver.requests();
    assert!(requests.len() >= 14, "{} requests", requests.len());
    for request in &requests {
        assert!(
            request.decoded_len <= 3_670_016,
            "a request of {} bytes",
            request.decoded_len
        );
        assert_eq!(request.status, Some(200));
    }
    let received = receiver.spans().len();
    assert_eq!(received, created, "spans received vs created");
    assert_eq!(stats.exported, created as u64);
    assert_eq!(stats.dropped(), 0);
}

#[test]
fn a_503_is_retried_and_nothing_is_lost() {
    let _one = support::exclusive();
    let receiver = Receiver::with_script([Reply::status(503)]);
    let guard = support::start(support::config(&receiver.endpoint(), &[]));
    support::record_spans("retry", 5, 0);
    let stats = guard.shutdown();
    let requests = receiver.requests();
    assert_eq!(requests.len(), 2);
    assert_eq!(requests[0].status, Some(503));
    assert_eq!(requests[1].status, Some(200));
    assert_eq!(receiver.spans().len(), 5);
    assert_eq!(stats.exported, 5);
    assert_eq!(stats.dropped(), 0);
}

#[test]
fn a_closed_connection_is_retried() {
    let _one = support::exclusive();
    let receiver = Receiver::with_script([Reply::close()]);
    let guard = support::start(support::config(&receiver.endpoint(), &[]));
    support::record_spans("reconnect", 2, 0);
    let stats = guard.shutdown();
    assert_eq!(receiver.spans().len(), 2);
    assert_eq!(stats.exported, 2);
}

#[test]
fn a_429_waits_for_retry_after() {
    let _one = support::exclusive();
    let receiver = Receiver::with_script([Reply::status(429).header("Retry-After", "1")]);
    let guard = support::start(support::config(&receiver.endpoint(), &[]));
    support::record_spans("throttled", 2, 0);
    let started = Instant::now();
    let stats = guard.shutdown();
    let requests = receiver.requests();
    assert_eq!(requests.len(), 2);
    assert_eq!(requests[0].status, Some(429));
    assert!(
        started.elapsed() >= Duration::from_secs(1),
        "Retry-After honoured"
    );
    assert_eq!(stats.exported, 2);
}

#[test]
fn a_503_waits_for_retry_after_given_as_an_http_date() {
    let _one = support::exclusive();
    // Two seconds ahead: HTTP dates have whole seconds, so the wait is over one second.
    let at = std::time::SystemTime::now() + Duration::from_secs(2);
    let receiver = Receiver::with_script([
        Reply::status(503).header("Retry-After", &httpdate::fmt_http_date(at))
    ]);
    let guard = support::start(support::config(&receiver.endpoint(), &[]));
    support::record_spans("dated", 1, 0);
    let started = Instant::now();
    let stats = guard.shutdown();
    let requests = receiver.requests();
    assert_eq!(requests.len(), 2);
    assert!(
        started.elapsed() >= Duration::from_secs(1),
        "Retry-After date honoured: {:?}",
        started.elapsed()
    );
    assert_eq!(stats.exported, 1);
}

#[test]
fn a_status_that_cannot_succeed_later_is_not_retried_and_is_counted() {
    let _one = support::exclusive();
    let receiver = Receiver::with_script([Reply::status(500)]);
    let guard = support::start(support::config(&receiver.endpoint(), &[]));
    support::record_spans("broken", 3, 0);
    let stats = guard.shutdown();
    assert_eq!(receiver.requests().len(), 1);
    assert_eq!(stats.exported, 0);
    assert_eq!(stats.dropped_export_failed, 3);
}

#[test]
fn an_unreachable_endpoint_gives_up_within_the_export_timeout() {
    let _one = support::exclusive();
    let port = support::unused_port();
    let guard = support::start(
        support::config(
            &format!("http://127.0.0.1:{port}/v1/traces"),
            &[("OTEL_EXPORTER_OTLP_TIMEOUT", "1000")],
        )
        .shutdown_timeout(Duration::from_secs(3)),
    );
    support::record_spans("unreachable", 4, 0);
    let started = Instant::now();
    let stats = guard.shutdown();
    let took = started.elapsed();
    assert!(took < Duration::from_secs(3), "took {took:?}");
    assert_eq!(stats.dropped_export_failed, 4);
}

#[test]
fn a_never_answering_endpoint_cannot_hold_shutdown_past_its_bound() {
    let _one = support::exclusive();
    let receiver = Receiver::with_script([Reply::hang()]);
    let guard = support::start(
        support::config(&receiver.endpoint(), &[]).shutdown_timeout(Duration::from_secs(1)),
    );
    support::record_spans("hang", 1, 0);
    let started = Instant::now();
    guard.shutdown();
    let took = started.elapsed();
    assert!(took < Duration::from_millis(1_500), "took {took:?}");
}

#[mackerel_trace::traced]
fn left_waiting() {}

#[test]
fn spans_left_waiting_when_shutdown_runs_out_of_time_are_counted_as_dropped() {
    let _one = support::exclusive();
    // 100 spans per request, each answered after 200 ms: a few requests fit in the 500 ms
    // shutdown bound, thousands of spans do not.
    let receiver = Receiver::with_script(vec![Reply::delay(Duration::from_millis(200)); 100]);
    let guard = support::start(
        support::config(
            &receiver.endpoint(),
            &[
                ("OTEL_EXPORTER_OTLP_TIMEOUT", "2000"),
                ("OTEL_BSP_EXPORT_TIMEOUT", "2000"),
            ],
        )
        .max_queue_size(2_000)
        .max_export_batch_size(100)
        .shutdown_timeout(Duration::from_millis(500)),
    );
    // Shutdown finds spans in every place they wait. First `#[traced]` spans the export thread
    // takes from the fast path's buffer and exports: counted as exported, never again.
    let first = 100;
    std::thread::spawn(move || (0..first).for_each(|_| left_waiting()))
        .join()
        .unwrap();
    receiver.wait_for_spans(first, Duration::from_secs(5));
    // Then spans in the export queue (the SDK path), which keep the export thread busy past
    // the shutdown bound; and `#[traced]` spans in the buffers of three threads, whose nudges
    // wait in the queue behind them.
    let queued = 1_500;
    support::record_spans("waiting", queued, 0);
    let (threads, per_thread) = (3, 1_000);
    let workers: Vec<_> = (0..threads)
        .map(|_| std::thread::spawn(move || (0..per_thread).for_each(|_| left_waiting())))
        .collect();
    for worker in workers {
        worker.join().unwrap();
    }
    let ended = (first + queued + threads * per_thread) as u64;

    let started = Instant::now();
    let stats = guard.shutdown();
    let took = started.elapsed();
    assert!(took < Duration::from_secs(1), "took {took:?}");
    assert!(stats.exported >= first as u64, "{stats:?}");
    assert!(stats.dropped_at_shutdown > 0, "{stats:?}");
    assert_eq!(
        stats.exported + stats.dropped(),
        ended,
        "every span exported or counted as dropped: {stats:?}"
    );
    // Counted as exported only once the receiver took it (a request in flight when shutdown
    // gave up counts as dropped, whatever the receiver does with it).
    assert!(receiver.spans().len() as u64 >= stats.exported);
}

#[test]
fn a_full_queue_drops_and_counts_instead_of_blocking() {
    let _one = support::exclusive();
    let receiver = Receiver::with_script([Reply::delay(Duration::from_millis(300))]);
    let guard = support::start(
        support::config(&receiver.endpoint(), &[])
            .max_queue_size(10)
            .max_export_batch_size(10),
    );
    support::record_spans("overflow", 1_000, 0);
    let stats = guard.shutdown();
    let received = receiver.spans().len() as u64;
    assert!(stats.dropped_queue_full > 0);
    assert_eq!(
        stats.exported + stats.dropped(),
        1_000,
        "every span accounted for"
    );
    assert_eq!(received, stats.exported);
}

#[mackerel_trace::traced]
fn burst_span() {}

#[test]
fn the_queue_size_bounds_the_traced_spans_waiting_on_all_threads_together() {
    let _one = support::exclusive();
    // The first export hangs until the client gives up: while it does, nothing leaves the
    // buffers and the threads fill them.
    let receiver = Receiver::with_script([Reply::hang()]);
    let guard = support::start(
        support::config(
            &receiver.endpoint(),
            &[
                ("OTEL_EXPORTER_OTLP_TIMEOUT", "1000"),
                ("OTEL_BSP_EXPORT_TIMEOUT", "1000"),
            ],
        )
        .max_queue_size(1_000)
        .max_export_batch_size(100)
        .shutdown_timeout(Duration::from_secs(3)),
    );
    let (threads, per_thread) = (8u64, 1_000u64);
    let workers: Vec<_> = (0..threads)
        .map(|_| std::thread::spawn(move || (0..per_thread).for_each(|_| burst_span())))
        .collect();
    for worker in workers {
        worker.join().unwrap();
    }
    let stats = guard.shutdown();
    let created = threads * per_thread;
    assert_eq!(stats.exported + stats.dropped(), created, "{stats:?}");
    // Taken in: the queue's worth, the batch the export thread took before its request hung,
    // and the room each thread may hold between drains (64 records at most): not a queue's
    // worth per thread.
    let accepted = created - stats.dropped_queue_full;
    assert!(accepted <= 1_000 + 100 + threads * 64, "{stats:?}");
    assert!(accepted >= 1_000 - threads * 64, "{stats:?}");
}

#[test]
fn spans_export_from_inside_tokio_runtimes_of_both_flavours() {
    let _one = support::exclusive();
    for multi_thread in [false, true] {
        let receiver = Receiver::start();
        let mut builder = if multi_thread {
            tokio::runtime::Builder::new_multi_thread()
        } else {
            tokio::runtime::Builder::new_current_thread()
        };
        let runtime = builder.enable_all().build().unwrap();
        let stats = runtime.block_on(async {
            let guard = support::start(support::config(&receiver.endpoint(), &[]));
            tokio::spawn(async { support::record_spans("tokio", 2, 0) })
                .await
                .unwrap();
            // Shutting down on the runtime thread must not deadlock.
            guard.shutdown()
        });
        assert_eq!(stats.exported, 2, "multi_thread={multi_thread}");
        assert_eq!(receiver.spans().len(), 2);
    }
}
