//! OTLP logs through the test receiver (feature `logs`): `/v1/logs` bodies decoded, the record
//! accessors, logs kept apart from spans, and one reply script shared by both signals.

use std::thread;
use std::time::Duration;

use mackerel_trace::testing::{Receiver, Reply};
use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::common::v1::{
    any_value, AnyValue, InstrumentationScope, KeyValueList,
};
use opentelemetry_proto::tonic::logs::v1::{LogRecord, ResourceLogs, ScopeLogs, SeverityNumber};
use opentelemetry_proto::tonic::resource::v1::Resource;
use prost::Message as _;

use super::client::{agent, gzip, key_value, post_gzip, string_value};
use super::PROMPTLY;

fn value(value: any_value::Value) -> Option<AnyValue> {
    Some(AnyValue { value: Some(value) })
}

/// A record as the `tracing` bridge would send it: a map body with a message and typed fields,
/// inside span `0x22…`/`0x33…`.
fn record(message: &str) -> LogRecord {
    let body = KeyValueList {
        values: vec![
            key_value("message", string_value(message)),
            key_value("order.id", value(any_value::Value::IntValue(42))),
            key_value("paid", value(any_value::Value::BoolValue(true))),
            key_value("total", value(any_value::Value::DoubleValue(12.5))),
        ],
    };
    LogRecord {
        time_unix_nano: 1_700_000_000_000_000_000,
        observed_time_unix_nano: 1_700_000_000_000_000_123,
        severity_number: SeverityNumber::Warn as i32,
        severity_text: "WARN".into(),
        body: value(any_value::Value::KvlistValue(body)),
        attributes: vec![key_value("code.function.name", string_value("place_order"))],
        trace_id: vec![0x22; 16],
        span_id: vec![0x33; 8],
        flags: 1,
        ..Default::default()
    }
}

/// An export of these records under `service.name=shop` and scope `shop::orders`.
fn log_export(records: Vec<LogRecord>) -> ExportLogsServiceRequest {
    ExportLogsServiceRequest {
        resource_logs: vec![ResourceLogs {
            resource: Some(Resource {
                attributes: vec![key_value("service.name", string_value("shop"))],
                ..Default::default()
            }),
            scope_logs: vec![ScopeLogs {
                scope: Some(InstrumentationScope {
                    name: "shop::orders".into(),
                    version: "1.2.3".into(),
                    ..Default::default()
                }),
                log_records: records,
                ..Default::default()
            }],
            ..Default::default()
        }],
    }
}

fn post_logs_gzip(
    agent: &ureq::Agent,
    receiver: &Receiver,
    messages: &[&str],
) -> Result<u16, ureq::Error> {
    let records = messages.iter().map(|message| record(message)).collect();
    agent
        .post(receiver.logs_endpoint())
        .header("Content-Type", "application/x-protobuf")
        .header("Content-Encoding", "gzip")
        .send(gzip(&log_export(records).encode_to_vec()))
        .map(|response| response.status().as_u16())
}

fn messages(logs: &[mackerel_trace::testing::ReceivedLog]) -> Vec<&str> {
    logs.iter()
        .map(|log| log.body_string("message").unwrap_or_default())
        .collect()
}

#[test]
fn gzipped_logs_export_is_decoded_with_map_body_ids_resource_and_scope() {
    let receiver = Receiver::start();
    let encoded = log_export(vec![record("order placed"), record("order paid")]).encode_to_vec();
    let response = agent(PROMPTLY)
        .post(receiver.logs_endpoint())
        .header("Content-Type", "application/x-protobuf")
        .header("Content-Encoding", "gzip")
        .send(gzip(&encoded))
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "application/x-protobuf");

    let request = &receiver.requests()[0];
    assert_eq!(request.path, "/v1/logs");
    assert_eq!(request.decode_error, None);
    assert!(request.request.is_none() && request.logs_request.is_some());
    assert_eq!(
        (request.body_len, request.decoded_len),
        (gzip(&encoded).len(), encoded.len())
    );
    assert_eq!(request.logs().len(), 2);

    let logs = receiver.logs();
    assert_eq!(messages(&logs), ["order placed", "order paid"]);
    let log = &logs[0];
    assert_eq!(log.severity_number(), SeverityNumber::Warn as i32);
    assert_eq!(log.severity_text(), "WARN");
    assert_eq!(log.time_unix_nano(), 1_700_000_000_000_000_000);
    assert_eq!(log.observed_time_unix_nano(), 1_700_000_000_000_000_123);
    assert_eq!(log.trace_id(), "22".repeat(16));
    assert_eq!(log.span_id(), "33".repeat(8));
    assert_eq!(log.flags(), 1);
    assert_eq!(log.body_int("order.id"), Some(42));
    assert_eq!(log.body_bool("paid"), Some(true));
    assert_eq!(log.body_double("total"), Some(12.5));
    assert_eq!(log.body_string("order.id"), None);
    assert_eq!(log.body_int("total"), None);
    assert_eq!(log.body_field("missing"), None);
    assert_eq!(log.string_attr("code.function.name"), Some("place_order"));
    assert_eq!(log.attr("message"), None);
    assert_eq!(log.resource_string_attr("service.name"), Some("shop"));
    assert_eq!(log.scope_name(), "shop::orders");
    assert_eq!(log.scope.version, "1.2.3");
    assert_eq!(log.record.attributes.len(), 1);
    assert!(receiver.spans().is_empty());
}

#[test]
fn uncompressed_logs_export_to_a_prefixed_path_is_decoded_and_both_lengths_match() {
    let receiver = Receiver::start();
    let body = log_export(vec![record("plain")]).encode_to_vec();
    agent(PROMPTLY)
        .post(format!("{}/otlp/v1/logs", receiver.base_url()))
        .header("Content-Type", "application/x-protobuf")
        .send(&body[..])
        .unwrap();

    let request = &receiver.requests()[0];
    assert_eq!(request.header("content-encoding"), None);
    assert_eq!(
        (request.body_len, request.decoded_len),
        (body.len(), body.len())
    );
    assert_eq!(messages(&receiver.logs()), ["plain"]);
}

#[test]
fn record_outside_a_span_has_empty_ids_and_a_string_body_has_no_fields() {
    let receiver = Receiver::start();
    let outside = LogRecord {
        body: string_value("just text"),
        ..Default::default()
    };
    agent(PROMPTLY)
        .post(receiver.logs_endpoint())
        .send(log_export(vec![outside]).encode_to_vec())
        .unwrap();

    let log = &receiver.wait_for_logs(1, PROMPTLY)[0];
    assert_eq!(
        (log.trace_id(), log.span_id()),
        (String::new(), String::new())
    );
    assert_eq!((log.flags(), log.severity_number()), (0, 0));
    assert_eq!(log.body(), string_value("just text").as_ref());
    assert_eq!(log.body_field("message"), None);
    assert_eq!(log.body_string("message"), None);
}

#[test]
fn span_requests_and_log_requests_do_not_mix() {
    let receiver = Receiver::start();
    let agent = agent(PROMPTLY);
    thread::scope(|scope| {
        scope.spawn(|| {
            thread::sleep(Duration::from_millis(100));
            assert_eq!(post_gzip(&agent, &receiver, &["GET /orders"]).unwrap(), 200);
            assert_eq!(post_logs_gzip(&agent, &receiver, &["one"]).unwrap(), 200);
            assert_eq!(post_gzip(&agent, &receiver, &["SELECT"]).unwrap(), 200);
            assert_eq!(post_logs_gzip(&agent, &receiver, &["two"]).unwrap(), 200);
        });
        // Two spans arrive before the second record: waiting for logs is not fooled by them.
        assert_eq!(
            messages(&receiver.wait_for_logs(2, PROMPTLY)),
            ["one", "two"]
        );
    });

    let names: Vec<_> = receiver
        .wait_for_spans(2, PROMPTLY)
        .iter()
        .map(|span| span.name().to_owned())
        .collect();
    assert_eq!(names, ["GET /orders", "SELECT"]);
    let requests = receiver.requests();
    let shape: Vec<_> = requests
        .iter()
        .map(|request| {
            (
                request.path.as_str(),
                request.spans().len(),
                request.logs().len(),
            )
        })
        .collect();
    assert_eq!(
        shape,
        [
            ("/v1/traces", 1, 0),
            ("/v1/logs", 0, 1),
            ("/v1/traces", 1, 0),
            ("/v1/logs", 0, 1),
        ]
    );
    assert!(requests[0].logs_request.is_none() && requests[1].request.is_none());
    // Waiting for more logs than arrived is not satisfied by spans.
    assert_eq!(
        receiver.wait_for_logs(3, Duration::from_millis(100)).len(),
        2
    );
}

#[test]
fn one_script_answers_trace_and_log_requests_in_arrival_order() {
    let receiver = Receiver::with_script(vec![
        Reply::status(503),
        Reply::status(429).header("Retry-After", "1"),
    ]);
    let agent = agent(PROMPTLY);
    assert_eq!(
        post_logs_gzip(&agent, &receiver, &["refused"]).unwrap(),
        503
    );
    assert_eq!(post_gzip(&agent, &receiver, &["limited"]).unwrap(), 429);
    assert_eq!(post_logs_gzip(&agent, &receiver, &["kept"]).unwrap(), 200);
    assert_eq!(post_gzip(&agent, &receiver, &["kept"]).unwrap(), 200);

    let statuses: Vec<_> = receiver.requests().iter().map(|r| r.status).collect();
    assert_eq!(statuses, [Some(503), Some(429), Some(200), Some(200)]);
    // A refused request is recorded with its records, but they are not counted as delivered.
    assert_eq!(messages(&receiver.requests()[0].logs()), ["refused"]);
    assert_eq!(messages(&receiver.logs()), ["kept"]);
    assert_eq!(receiver.spans().len(), 1);
}

#[test]
fn undecodable_logs_body_is_recorded_with_its_error() {
    let receiver = Receiver::start();
    agent(PROMPTLY)
        .post(receiver.logs_endpoint())
        .header("Content-Encoding", "gzip")
        .send(gzip(b"\xff\xff\xff not protobuf"))
        .unwrap();

    let request = &receiver.requests()[0];
    assert!(request.logs_request.is_none() && request.request.is_none());
    assert!(request
        .decode_error
        .as_deref()
        .unwrap()
        .starts_with("protobuf"));
    assert!(receiver.logs().is_empty());
}
