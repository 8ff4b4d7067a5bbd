//! Logs over real HTTP to the local receiver (feature `logs`): `tracing` events as OTLP log
//! records that Mackerel links to their trace and filters on by field — the linking ids on
//! sync, async and spawned code, severities, the map body with typed fields, timestamps, the
//! logs' own filter, `OTEL_LOGS_EXPORTER=none`, the endpoint variables, a burst split under
//! 3.5 MiB with nothing lost, and a failing endpoint counted.
//!
//! One subscriber for the whole binary (global, as a program sets up logging once), with a
//! console stand-in filtered at WARN; each test starts its own pipeline.

mod support;

use std::sync::Once;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use mackerel_trace::testing::{ReceivedLog, Receiver, Reply};
use mackerel_trace::traced;
use tracing::Instrument as _;
use tracing_subscriber::filter::LevelFilter;
use tracing_subscriber::layer::SubscriberExt as _;
use tracing_subscriber::Layer as _;

struct Console;
impl<S: tracing::Subscriber> tracing_subscriber::Layer<S> for Console {}

fn install_subscriber() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let subscriber = tracing_subscriber::registry()
            .with(Console.with_filter(LevelFilter::WARN))
            .with(
                mackerel_trace::tracing::LayerBuilder::new()
                    // The default (`info`) for everything but this file's `chatty` target.
                    .logs_filter("info,chatty=trace")
                    .build(),
            );
        tracing::subscriber::set_global_default(subscriber).unwrap();
    });
}

/// Exports spans and log records to `receiver` with `vars`, while `body` runs.
fn run_with(receiver: &Receiver, vars: &[(&str, &str)], body: impl FnOnce()) {
    install_subscriber();
    let _one = support::exclusive();
    let logs = format!("{}/v1/logs", receiver.base_url());
    let mut all = vec![("OTEL_EXPORTER_OTLP_LOGS_ENDPOINT", logs.as_str())];
    all.extend_from_slice(vars);
    let guard = support::start(
        support::config(&receiver.endpoint(), &all).schedule_delay(Duration::from_millis(50)),
    );
    body();
    guard.shutdown();
}

fn collect_logs(expected: usize, body: impl FnOnce()) -> (Receiver, Vec<ReceivedLog>) {
    let receiver = Receiver::start();
    run_with(&receiver, &[], body);
    let logs = receiver.wait_for_logs(expected, Duration::from_secs(5));
    (receiver, logs)
}

fn by_message<'a>(logs: &'a [ReceivedLog], message: &str) -> &'a ReceivedLog {
    logs.iter()
        .find(|l| l.body_string("message") == Some(message))
        .unwrap_or_else(|| {
            let all: Vec<_> = logs.iter().map(|l| l.body_string("message")).collect();
            panic!("no log {message:?} in {all:?}")
        })
}

fn unix_nanos() -> u64 {
    let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap();
    u64::try_from(now.as_nanos()).unwrap()
}

#[traced]
fn sync_work() {
    tracing::info!(order.id = 42u64, "sync work started");
}

#[traced]
async fn async_work() {
    tokio::task::yield_now().await;
    tracing::warn!(retries = 2i64, "async work retried");
}

#[traced]
async fn spawning_work() {
    tokio::spawn(async { tracing::info!("spawned work ran") }.in_current_span())
        .await
        .unwrap();
}

#[test]
fn records_carry_the_trace_and_span_of_the_code_that_logged_them() {
    let start = unix_nanos();
    let (receiver, logs) = collect_logs(4, || {
        sync_work();
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async_work());
        runtime.block_on(spawning_work());
        tracing::info!("outside any span");
    });
    let end = unix_nanos();
    let spans = receiver.wait_for_spans(3, Duration::from_secs(5));
    for (message, span_name) in [
        ("sync work started", "sync_work"),
        ("async work retried", "async_work"),
        ("spawned work ran", "spawning_work"),
    ] {
        let log = by_message(&logs, message);
        let span = spans.iter().find(|s| s.name() == span_name).unwrap();
        assert_eq!(log.trace_id(), span.trace_id(), "{message}");
        assert_eq!(log.span_id(), span.span_id(), "{message}");
        assert_eq!(log.flags() & 1, 1, "{message}: sampled");
        assert!(log.time_unix_nano() >= start && log.time_unix_nano() <= end);
        assert!(log.observed_time_unix_nano() >= log.time_unix_nano());
        assert_eq!(
            log.resource_string_attr("service.name"),
            Some("export-test"),
            "the spans' resource"
        );
    }
    let outside = by_message(&logs, "outside any span");
    assert_eq!(outside.trace_id(), "");
    assert_eq!(outside.span_id(), "");
    // Events still become span events, as without the feature.
    let sync = spans.iter().find(|s| s.name() == "sync_work").unwrap();
    assert!(sync.event("sync work started").is_some());
    // Headers and encoding as for spans.
    let request = receiver
        .requests()
        .into_iter()
        .find(|r| r.path == "/v1/logs")
        .expect("a logs request");
    assert_eq!(request.header("content-encoding"), Some("gzip"));
    assert_eq!(
        request.header("content-type"),
        Some("application/x-protobuf")
    );
}

#[test]
fn severities_and_a_map_body_of_typed_fields() {
    let (_receiver, logs) = collect_logs(5, || {
        tracing::trace!(target: "chatty", "at trace");
        tracing::debug!(target: "chatty", "at debug");
        tracing::info!(target: "chatty", "at info");
        tracing::warn!(target: "chatty", "at warn");
        tracing::error!(
            target: "chatty",
            count = 7u64,
            big = u64::MAX,
            delta = -3i64,
            ratio = 0.5f64,
            ok = true,
            user = "alice",
            list = ?vec![1, 2],
            "at error"
        );
    });
    for (message, number, text) in [
        ("at trace", 1, "TRACE"),
        ("at debug", 5, "DEBUG"),
        ("at info", 9, "INFO"),
        ("at warn", 13, "WARN"),
        ("at error", 17, "ERROR"),
    ] {
        let log = by_message(&logs, message);
        assert_eq!(log.severity_number(), number, "{message}");
        assert_eq!(log.severity_text(), text, "{message}");
    }
    let error = by_message(&logs, "at error");
    assert_eq!(error.body_int("count"), Some(7));
    assert_eq!(error.body_string("big"), Some("18446744073709551615"));
    assert_eq!(error.body_int("delta"), Some(-3));
    assert_eq!(error.body_double("ratio"), Some(0.5));
    assert_eq!(error.body_bool("ok"), Some(true));
    assert_eq!(error.body_string("user"), Some("alice"));
    assert_eq!(error.body_string("list"), Some("[1, 2]"));
    assert_eq!(error.body_string("message"), Some("at error"));
    // Only the body carries the fields: Mackerel bills bytes, and nothing goes twice.
    assert!(
        error.record.attributes.is_empty(),
        "{:?}",
        error.record.attributes
    );
    let Some(body) = error.body() else {
        panic!("no body")
    };
    let Some(mackerel_trace::testing::proto::common::v1::any_value::Value::KvlistValue(map)) =
        &body.value
    else {
        panic!("not a map body: {body:?}")
    };
    assert_eq!(map.values.len(), 8, "message and the 7 fields: {map:?}");
}

#[test]
fn the_logs_filter_is_its_own_and_defaults_to_info() {
    let (_receiver, logs) = collect_logs(2, || {
        tracing::debug!("dropped at debug");
        tracing::info!("kept at info");
        tracing::debug!(target: "chatty", "kept: chatty is at trace");
    });
    std::thread::sleep(Duration::from_millis(100));
    assert!(logs
        .iter()
        .all(|l| l.body_string("message") != Some("dropped at debug")));
    by_message(&logs, "kept at info");
    by_message(&logs, "kept: chatty is at trace");
}

#[test]
fn otel_logs_exporter_none_sends_no_records_and_spans_still_go() {
    let receiver = Receiver::start();
    run_with(&receiver, &[("OTEL_LOGS_EXPORTER", "none")], || {
        sync_work();
    });
    // `run_with` shut the guard down: whatever would have been sent has been.
    receiver.wait_for_spans(1, Duration::from_secs(5));
    assert!(receiver.logs().is_empty());
    assert!(receiver.requests().iter().all(|r| r.path != "/v1/logs"));
}

#[test]
fn the_generic_endpoint_gets_v1_logs_appended() {
    install_subscriber();
    let _one = support::exclusive();
    let receiver = Receiver::start();
    let guard = mackerel_trace::Config::new()
        .service_name("export-test")
        .schedule_delay(Duration::from_millis(50))
        .with_env_vars([("OTEL_EXPORTER_OTLP_ENDPOINT", receiver.base_url())])
        .init()
        .unwrap();
    tracing::info!("to the generic endpoint");
    guard.shutdown();
    let logs = receiver.wait_for_logs(1, Duration::from_secs(5));
    by_message(&logs, "to the generic endpoint");
    assert!(receiver.requests().iter().any(|r| r.path == "/v1/logs"));
}

#[test]
fn a_burst_of_large_records_is_split_under_3_5_mib_and_none_is_lost() {
    const RECORDS: usize = 1_500;
    let receiver = Receiver::start();
    let payload = "x".repeat(4_000);
    run_with(
        &receiver,
        &[
            ("OTEL_BLRP_MAX_QUEUE_SIZE", "4096"),
            ("OTEL_BLRP_MAX_EXPORT_BATCH_SIZE", "4096"),
            ("OTEL_BLRP_SCHEDULE_DELAY", "5000"),
        ],
        || {
            for i in 0..RECORDS {
                tracing::info!(i = i as u64, payload = payload.as_str(), "large");
            }
        },
    );
    let logs = receiver.wait_for_logs(RECORDS, Duration::from_secs(10));
    assert_eq!(logs.len(), RECORDS);
    let requests: Vec<_> = receiver
        .requests()
        .into_iter()
        .filter(|r| r.path == "/v1/logs")
        .collect();
    assert!(
        requests.len() >= 2,
        "{} records of 4 KB in one request",
        RECORDS
    );
    for request in &requests {
        assert!(
            request.decoded_len <= 3_670_016,
            "{} bytes",
            request.decoded_len
        );
    }
}

#[test]
fn a_failing_logs_endpoint_is_counted_and_spans_are_unaffected() {
    let receiver = Receiver::start();
    let logs = Receiver::with_script((0..20).map(|_| Reply::status(400)));
    install_subscriber();
    let _one = support::exclusive();
    let logs_url = format!("{}/v1/logs", logs.base_url());
    let guard = support::start(
        support::config(
            &receiver.endpoint(),
            &[("OTEL_EXPORTER_OTLP_LOGS_ENDPOINT", logs_url.as_str())],
        )
        .schedule_delay(Duration::from_millis(50)),
    );
    sync_work();
    guard.flush().ok();
    let log_stats = guard.log_stats();
    let span_stats = guard.shutdown();
    assert_eq!(log_stats.dropped_export_failed, 1, "{log_stats:?}");
    assert_eq!(span_stats.exported, 1);
}

#[test]
fn opentelemetrys_own_diagnostics_are_neither_records_nor_span_events() {
    // What the OpenTelemetry crates emit when a crate in the build turns on their
    // `internal-logs` feature (this workspace's benchmarks do): never the application's.
    let (receiver, logs) = collect_logs(1, || {
        diagnosed_work();
    });
    let spans = receiver.wait_for_spans(1, Duration::from_secs(5));
    assert_eq!(
        logs.len(),
        1,
        "{:?}",
        logs.iter()
            .map(|l| l.body_string("message"))
            .collect::<Vec<_>>()
    );
    by_message(&logs, "the application's");
    let span = spans.iter().find(|s| s.name() == "diagnosed_work").unwrap();
    assert!(span.event("HttpLogsClient.ExportFailed").is_none());
    assert!(span.event("the application's").is_some());
}

#[traced]
fn diagnosed_work() {
    tracing::warn!(name: "BatchLogProcessor.ExportError", target: "opentelemetry_sdk", "ExportError");
    tracing::warn!(target: "opentelemetry-otlp", "HttpLogsClient.ExportFailed");
    tracing::warn!("the application's");
}
