//! Log records on the console (`OTEL_LOGS_EXPORTER=console`, feature `logs`): one line each on
//! stderr, with its severity, trace and span ids and body.

use std::fmt::Write as _;
use std::io::Write as _;
use std::time::Duration;

use opentelemetry::logs::AnyValue;
use opentelemetry::InstrumentationScope;
use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::logs::{LogProcessor, SdkLogRecord};

/// Writes each record as it is emitted.
#[derive(Debug, Default)]
pub(crate) struct ConsoleLogProcessor;

impl LogProcessor for ConsoleLogProcessor {
    fn emit(&self, record: &mut SdkLogRecord, _scope: &InstrumentationScope) {
        let mut line = String::new();
        let _ = write!(line, "{}", record.severity_text().unwrap_or("LOG"));
        if let Some(cx) = record.trace_context() {
            let _ = write!(line, " [{} {}]", cx.trace_id, cx.span_id);
        }
        if let Some(AnyValue::Map(body)) = record.body() {
            if let Some(AnyValue::String(message)) =
                body.get(&opentelemetry::Key::from_static_str("message"))
            {
                let _ = write!(line, " {}", message.as_str());
            }
            let mut fields: Vec<_> = body
                .iter()
                .filter(|(k, _)| k.as_str() != "message")
                .collect();
            fields.sort_by(|a, b| a.0.as_str().cmp(b.0.as_str()));
            for (key, value) in fields {
                let _ = write!(line, " {}={}", key.as_str(), text(value));
            }
        }
        line.push('\n');
        let _ = std::io::stderr().write_all(line.as_bytes());
    }

    fn force_flush(&self) -> OTelSdkResult {
        Ok(())
    }

    fn shutdown_with_timeout(&self, _timeout: Duration) -> OTelSdkResult {
        Ok(())
    }
}

fn text(value: &AnyValue) -> String {
    match value {
        AnyValue::String(s) => format!("{:?}", s.as_str()),
        AnyValue::Int(i) => i.to_string(),
        AnyValue::Double(d) => d.to_string(),
        AnyValue::Boolean(b) => b.to_string(),
        other => format!("{other:?}"),
    }
}
