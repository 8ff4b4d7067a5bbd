//! `#[mackerel_trace::main]` in a real program (`tests/bin/scenario.rs`), run as a child
//! process against a local OTLP receiver: spans arrive on return, on `Err` and on panic, from
//! plain and tokio mains in either attribute order.

mod support;

use std::process::{Command, Output};
use std::time::{Duration, Instant};

use mackerel_trace::testing::{ReceivedSpan, Receiver};

/// Runs the scenario with the schedule delay far in the future, so only the flush at exit
/// can deliver the spans.
fn run(shape: &str, receiver: &Receiver, extra: &[(&str, &str)]) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_scenario"));
    command
        .arg(shape)
        .env_clear()
        .env("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", receiver.endpoint())
        .env("OTEL_BSP_SCHEDULE_DELAY", "600000");
    for (key, value) in extra {
        command.env(key, value);
    }
    command.output().expect("scenario runs")
}

fn names(spans: &[ReceivedSpan]) -> Vec<&str> {
    let mut names: Vec<&str> = spans.iter().map(ReceivedSpan::name).collect();
    names.sort_unstable();
    names
}

fn assert_delivered(receiver: &Receiver) -> Vec<ReceivedSpan> {
    let spans = receiver.wait_for_spans(2, Duration::from_secs(5));
    assert_eq!(names(&spans), ["after-work", "work"]);
    spans
}

#[test]
fn returning_main_flushes_with_service_options() {
    let receiver = Receiver::start();
    let output = run("plain_ok", &receiver, &[]);
    assert!(output.status.success(), "{output:?}");
    let spans = assert_delivered(&receiver);
    let span = &spans[0];
    assert_eq!(
        span.resource_string_attr("service.name"),
        Some("scenario-ok")
    );
    assert_eq!(
        span.resource_string_attr("service.version"),
        Some(env!("CARGO_PKG_VERSION"))
    );
    assert_eq!(
        span.resource_string_attr("deployment.environment.name"),
        Some("test")
    );
}

#[test]
fn main_returning_err_still_delivers_spans_with_crate_name_as_service() {
    let receiver = Receiver::start();
    let output = run("plain_err", &receiver, &[]);
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("main failed"));
    let spans = assert_delivered(&receiver);
    assert_eq!(
        spans[0].resource_string_attr("service.name"),
        Some(env!("CARGO_PKG_NAME"))
    );
}

#[test]
fn panicking_main_still_delivers_spans() {
    let receiver = Receiver::start();
    let output = run("plain_panic", &receiver, &[]);
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("main panicked"));
    assert_delivered(&receiver);
}

#[test]
fn tokio_multi_thread_main_with_attribute_above_tokio() {
    let receiver = Receiver::start();
    let output = run("tokio_multi_outer", &receiver, &[]);
    assert!(output.status.success(), "{output:?}");
    assert_delivered(&receiver);
}

#[test]
fn tokio_current_thread_main_with_attribute_below_tokio() {
    let receiver = Receiver::start();
    let output = run("tokio_current_inner", &receiver, &[]);
    assert!(output.status.success(), "{output:?}");
    assert_delivered(&receiver);
}

#[test]
fn panicking_current_thread_async_main_still_delivers_spans() {
    let receiver = Receiver::start();
    let output = run("tokio_current_outer_panic", &receiver, &[]);
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("async main panicked"));
    assert_delivered(&receiver);
}

#[test]
fn bad_configuration_is_one_stderr_line_and_the_program_still_runs() {
    let receiver = Receiver::start();
    let output = run(
        "plain_ok",
        &receiver,
        &[("OTEL_EXPORTER_OTLP_TIMEOUT", "soon")],
    );
    assert!(output.status.success(), "{output:?}");
    let stderr = String::from_utf8_lossy(&output.stderr);
    let lines: Vec<&str> = stderr.lines().collect();
    assert_eq!(lines.len(), 1, "{stderr}");
    assert!(lines[0].contains("OTEL_EXPORTER_OTLP_TIMEOUT"), "{stderr}");
    assert!(lines[0].contains("\"soon\""), "{stderr}");
    assert!(lines[0].contains("tracing is off"), "{stderr}");
    assert!(receiver.requests().is_empty());
}

#[test]
fn rejected_key_is_reported_once_without_the_key() {
    let receiver = Receiver::with_script([
        mackerel_trace::testing::Reply::status(401),
        mackerel_trace::testing::Reply::status(401),
    ]);
    let key = "mkr-secret-key-0123456789";
    let output = run("plain_ok", &receiver, &[("MACKEREL_APIKEY", key)]);
    assert!(output.status.success(), "{output:?}");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(
        stderr.matches("rejected the API key").count(),
        1,
        "{stderr}"
    );
    assert!(stderr.contains("HTTP 401"), "{stderr}");
    assert!(!stderr.contains(key), "the key leaked: {stderr}");
    let requests = receiver.requests();
    assert_eq!(requests.len(), 1, "a rejected key is not retried");
    assert_eq!(requests[0].header("mackerel-api-key"), Some(key));
}

#[test]
fn dead_endpoint_cannot_hold_the_program_past_the_shutdown_bound() {
    // `hang()` never answers: the flush at exit must give up after the shutdown timeout
    // (5 s by default) plus process start-up, never wait for the 10 s export timeout.
    let receiver = Receiver::with_script([mackerel_trace::testing::Reply::hang()]);
    let started = Instant::now();
    let output = run("plain_ok", &receiver, &[]);
    let took = started.elapsed();
    assert!(output.status.success(), "{output:?}");
    assert!(took < Duration::from_secs(8), "took {took:?}");
    assert!(
        String::from_utf8_lossy(&output.stderr).contains("did not finish within 5000 ms"),
        "{output:?}"
    );
}

#[test]
fn console_exporter_prints_each_trace_as_a_tree_on_stderr() {
    let receiver = Receiver::start();
    let output = run(
        "plain_ok",
        &receiver,
        &[("OTEL_TRACES_EXPORTER", "console")],
    );
    assert!(output.status.success(), "{output:?}");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(stderr.matches("· scenario-ok").count(), 2, "{stderr}");
    assert!(stderr.lines().any(|l| l.starts_with("work ")), "{stderr}");
    assert!(
        stderr.lines().any(|l| l.starts_with("after-work ")),
        "{stderr}"
    );
    assert!(
        !stderr.contains('\u{1b}'),
        "no colour when stderr is not a terminal"
    );
    assert!(receiver.requests().is_empty(), "console does not export");
}

#[test]
fn no_key_and_no_endpoint_is_one_hint_line_and_nothing_sent() {
    let output = Command::new(env!("CARGO_BIN_EXE_scenario"))
        .arg("plain_ok")
        .env_clear()
        .output()
        .expect("scenario runs");
    assert!(output.status.success(), "{output:?}");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.contains("MACKEREL_APIKEY"), "{stderr}");
    assert!(stderr.contains("OTEL_TRACES_EXPORTER=console"), "{stderr}");
}

#[test]
fn an_internet_proxy_does_not_divert_spans_for_a_local_collector() {
    // HTTPS_PROXY (and its lower-case spelling) at a dead port, as on a corporate network:
    // the local http:// collector is still reached directly.
    let receiver = Receiver::start();
    let dead = format!("http://127.0.0.1:{}", support::unused_port());
    let output = run(
        "plain_ok",
        &receiver,
        &[("HTTPS_PROXY", &dead), ("https_proxy", &dead)],
    );
    assert!(output.status.success(), "{output:?}");
    assert_delivered(&receiver);
}

#[test]
fn a_refusing_proxy_is_reported_with_its_address_and_without_the_key() {
    let receiver = Receiver::start();
    let port = support::unused_port();
    let key = "mkr-secret-key-proxy-42";
    let output = run(
        "plain_ok",
        &receiver,
        &[
            (
                "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
                "http://otlp.mackerel-trace.invalid:4318/v1/traces",
            ),
            (
                "HTTP_PROXY",
                &format!("http://proxyuser:proxypass@127.0.0.1:{port}"),
            ),
            ("MACKEREL_APIKEY", key),
            ("OTEL_EXPORTER_OTLP_TIMEOUT", "1000"),
        ],
    );
    assert!(output.status.success(), "{output:?}");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains(&format!("through proxy 127.0.0.1:{port} (HTTP_PROXY)")),
        "{stderr}"
    );
    assert!(stderr.contains("dropped 2 spans"), "{stderr}");
    assert!(!stderr.contains(key), "the key leaked: {stderr}");
    assert!(
        !stderr.contains("proxypass"),
        "the proxy password leaked: {stderr}"
    );
    assert!(receiver.requests().is_empty());
}

#[test]
fn otlp_variables_the_exporter_reads_itself_cannot_override_what_config_resolved() {
    // The process environment says another key, gzip and another endpoint; the program
    // configured its pipeline from a map. opentelemetry-otlp reads these variables by
    // itself: none of them may reach the wire.
    let receiver = Receiver::start();
    let decoy = Receiver::start();
    let output = run(
        "config_from_map",
        &decoy,
        &[
            ("SCENARIO_ENDPOINT", &receiver.endpoint()),
            (
                "OTEL_EXPORTER_OTLP_HEADERS",
                "Mackerel-Api-Key=key-from-env,x-extra=1",
            ),
            ("OTEL_EXPORTER_OTLP_COMPRESSION", "gzip"),
            ("OTEL_EXPORTER_OTLP_PROTOCOL", "http/json"),
        ],
    );
    assert!(output.status.success(), "{output:?}");
    let spans = receiver.wait_for_spans(2, Duration::from_secs(5));
    assert_eq!(names(&spans), ["after-work", "work"]);
    let requests = receiver.requests();
    assert_eq!(
        requests[0].header("mackerel-api-key"),
        Some("key-from-config")
    );
    assert_eq!(requests[0].header("x-extra"), None);
    assert_eq!(requests[0].header("content-encoding"), None);
    assert_eq!(
        requests[0].header("content-type"),
        Some("application/x-protobuf")
    );
    assert!(decoy.requests().is_empty());
}

#[test]
fn a_refused_endpoint_is_reported_at_exit_with_its_url_and_cause_without_waiting_out_the_bound() {
    let receiver = Receiver::start();
    let endpoint = format!("http://127.0.0.1:{}/v1/traces", support::unused_port());
    let started = Instant::now();
    let output = run(
        "plain_ok",
        &receiver,
        &[
            ("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", &endpoint),
            ("MACKEREL_APIKEY", "mkr-refused-key"),
        ],
    );
    let took = started.elapsed();
    assert!(output.status.success(), "{output:?}");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains(&format!(
            "dropped 2 spans because export failed: could not reach {endpoint}"
        )),
        "{stderr}"
    );
    assert!(stderr.contains("refused"), "{stderr}");
    assert!(
        stderr.contains("check the endpoint URL and that a receiver is listening there"),
        "{stderr}"
    );
    assert!(
        !stderr.contains("mkr-refused-key"),
        "the key leaked: {stderr}"
    );
    // Connection refused is retried briefly (about a second), not for the 5 s shutdown bound.
    assert!(took < Duration::from_secs(4), "took {took:?}");
}

#[test]
fn a_console_fallback_run_ends_by_saying_how_to_send_for_real() {
    let output = Command::new(env!("CARGO_BIN_EXE_scenario"))
        .arg("console_fallback")
        .env_clear()
        .output()
        .expect("scenario runs");
    assert!(output.status.success(), "{output:?}");
    let stderr = String::from_utf8_lossy(&output.stderr);
    let lines: Vec<&str> = stderr.lines().filter(|line| !line.is_empty()).collect();
    assert!(
        lines.first().is_some_and(|line| line.starts_with("trace ")),
        "the trace comes first: {stderr}"
    );
    assert_eq!(
        lines.last().copied(),
        Some("mackerel-trace: printed the traces here because no destination is set: set MACKEREL_APIKEY to send them to Mackerel, or OTEL_EXPORTER_OTLP_ENDPOINT (such as http://localhost:4318) to send them to a Collector"),
        "{stderr}"
    );
    assert_eq!(
        stderr.matches("mackerel-trace:").count(),
        1,
        "one hint, said once: {stderr}"
    );
}

#[test]
fn an_asked_for_console_ends_without_the_hint() {
    let output = Command::new(env!("CARGO_BIN_EXE_scenario"))
        .arg("console_fallback")
        .env_clear()
        .env("OTEL_TRACES_EXPORTER", "console")
        .output()
        .expect("scenario runs");
    assert!(output.status.success(), "{output:?}");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("trace "), "{stderr}");
    assert!(!stderr.contains("mackerel-trace:"), "{stderr}");
}
