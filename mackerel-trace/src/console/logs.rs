//! Log records on the console (`OTEL_LOGS_EXPORTER=console`, feature `logs`): under the span
//! they were written in, in that span's trace tree, when the tree prints on the console too;
//! otherwise on a line of their own on stderr, with their severity, trace and span ids and body.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use opentelemetry::logs::AnyValue;
use opentelemetry::InstrumentationScope;
use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::logs::{LogProcessor, SdkLogRecord};

use super::render::LogLine;
use super::Shared;

/// Hands each record to the console's trace buffer, or prints it at once.
pub(crate) struct ConsoleLogProcessor {
    shared: Arc<Shared>,
    colour: bool,
}

impl ConsoleLogProcessor {
    pub(super) fn new(shared: Arc<Shared>, colour: bool) -> Self {
        ConsoleLogProcessor { shared, colour }
    }

    /// Records on lines of their own on stderr, for when spans do not print on the console.
    pub(crate) fn standalone() -> Self {
        Self::new(
            Shared::new(Box::new(std::io::stderr())),
            super::stderr_colour(),
        )
    }
}

impl std::fmt::Debug for ConsoleLogProcessor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConsoleLogProcessor")
            .field("colour", &self.colour)
            .finish_non_exhaustive()
    }
}

impl LogProcessor for ConsoleLogProcessor {
    fn emit(&self, record: &mut SdkLogRecord, _scope: &InstrumentationScope) {
        let log = line(record);
        let sampled = record
            .trace_context()
            .is_some_and(|cx| cx.trace_flags.is_some_and(|flags| flags.is_sampled()));
        let log = match log.span {
            Some((_, span_id)) if sampled => match self.shared.buffer().attach(span_id, log) {
                None => return,
                Some(log) => log,
            },
            _ => log,
        };
        self.shared
            .write_log_lines(std::slice::from_ref(&log), self.colour);
    }

    fn force_flush(&self) -> OTelSdkResult {
        Ok(())
    }

    fn shutdown_with_timeout(&self, _timeout: Duration) -> OTelSdkResult {
        Ok(())
    }
}

/// What the console shows of `record`: the message, then the fields in the order they were
/// written (the `tracing` layer's records carry them as attributes; a map body's come by key).
fn line(record: &SdkLogRecord) -> LogLine {
    let mut message = None;
    let mut fields = Vec::new();
    match record.body() {
        Some(AnyValue::Map(body)) => {
            let mut entries: Vec<_> = body.iter().collect();
            entries.sort_by(|a, b| a.0.as_str().cmp(b.0.as_str()));
            for (key, value) in entries {
                match value {
                    AnyValue::String(text) if key.as_str() == "message" => {
                        message = Some(text.as_str().to_owned());
                    }
                    _ => fields.push(format!("{}={}", key.as_str(), text(value))),
                }
            }
        }
        Some(AnyValue::String(text)) => message = Some(text.as_str().to_owned()),
        Some(other) => message = Some(text(other)),
        None => {}
    }
    for (key, value) in record.attributes_iter() {
        fields.push(format!("{}={}", key.as_str(), text(value)));
    }
    LogLine {
        time: record
            .timestamp()
            .or(record.observed_timestamp())
            .unwrap_or_else(SystemTime::now),
        severity: record.severity_text().unwrap_or("LOG"),
        message,
        fields,
        span: record.trace_context().map(|cx| (cx.trace_id, cx.span_id)),
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
