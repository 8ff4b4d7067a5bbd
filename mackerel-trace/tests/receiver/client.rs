//! A stand-in for the exporter under test: builds OTLP exports and posts them with ureq.

use std::io::Write as _;
use std::time::Duration;

use mackerel_trace::testing::Receiver;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::{any_value, AnyValue, InstrumentationScope, KeyValue};
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span};
use prost::Message as _;

pub fn string_value(value: &str) -> Option<AnyValue> {
    Some(AnyValue {
        value: Some(any_value::Value::StringValue(value.into())),
    })
}

pub fn key_value(key: &str, value: Option<AnyValue>) -> KeyValue {
    KeyValue {
        key: key.into(),
        value,
        ..Default::default()
    }
}

/// An export of spans with these names, under `service.name=shop` and scope `shop::orders`.
pub fn export(names: &[&str]) -> ExportTraceServiceRequest {
    let spans = names
        .iter()
        .enumerate()
        .map(|(index, name)| Span {
            name: (*name).into(),
            trace_id: vec![0x11; 16],
            span_id: vec![index as u8 + 1; 8],
            attributes: vec![
                key_value("http.route", string_value("/orders")),
                key_value(
                    "order.count",
                    Some(AnyValue {
                        value: Some(any_value::Value::IntValue(3)),
                    }),
                ),
            ],
            ..Default::default()
        })
        .collect();
    ExportTraceServiceRequest {
        resource_spans: vec![ResourceSpans {
            resource: Some(Resource {
                attributes: vec![key_value("service.name", string_value("shop"))],
                ..Default::default()
            }),
            scope_spans: vec![ScopeSpans {
                scope: Some(InstrumentationScope {
                    name: "shop::orders".into(),
                    version: "1.2.3".into(),
                    ..Default::default()
                }),
                spans,
                ..Default::default()
            }],
            ..Default::default()
        }],
    }
}

pub fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    encoder.write_all(bytes).unwrap();
    encoder.finish().unwrap()
}

/// A client that never goes through a proxy and hands back non-2xx answers as responses.
pub fn agent(timeout: Duration) -> ureq::Agent {
    ureq::Agent::config_builder()
        .proxy(None)
        .http_status_as_error(false)
        .timeout_global(Some(timeout))
        .build()
        .into()
}

pub fn post_gzip(
    agent: &ureq::Agent,
    receiver: &Receiver,
    names: &[&str],
) -> Result<u16, ureq::Error> {
    agent
        .post(receiver.endpoint())
        .header("Content-Type", "application/x-protobuf")
        .header("Content-Encoding", "gzip")
        .header("Accept", "*/*")
        .send(gzip(&export(names).encode_to_vec()))
        .map(|response| response.status().as_u16())
}
