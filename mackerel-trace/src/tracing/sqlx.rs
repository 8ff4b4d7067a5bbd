//! sqlx's `sqlx::query` event (sent when a query finishes) as a CLIENT span for Mackerel's DB
//! view: `db.query.text`, the real start and end, and the row counts.

use std::time::{Duration, SystemTime};

use opentelemetry::trace::{SpanKind, Tracer as _};
use opentelemetry::{Context, KeyValue};
use tracing_core::Event;

use super::fields::Fields;
use crate::tracer;

/// Records the query `event` describes as a span, child of `parent`.
///
/// sqlx puts the statement in `db.statement` (framed by blank lines) only when it is longer
/// than its `summary` (the first few words); for short statements the summary is the whole
/// statement. Bound values are never part of either. The event carries no error: a failed
/// query is marked by the span of the code that ran it (`#[traced]` records its `Err`).
pub(super) fn record_query(event: &Event<'_>, parent: &Context, db_system_name: Option<&str>) {
    let Some(tracer) = tracer::tracer() else {
        return;
    };
    let end = SystemTime::now();
    let mut fields = Fields::event();
    event.record(&mut fields);
    let statement = fields
        .string("db.statement")
        .map(|s| s.trim().to_owned())
        .filter(|s| !s.is_empty());
    let summary = fields
        .string("summary")
        .map(|s| s.trim_end_matches(" …").trim().to_owned());
    let Some(text) = statement.or_else(|| summary.clone()) else {
        return;
    };
    let elapsed = fields
        .number("elapsed_secs")
        .filter(|secs| secs.is_finite() && *secs >= 0.0)
        .map_or(Duration::ZERO, Duration::from_secs_f64);
    let start = end.checked_sub(elapsed).unwrap_or(end);

    let mut attributes = Vec::with_capacity(5);
    attributes.push(KeyValue::new("db.query.text", text));
    if let Some(system) = db_system_name {
        attributes.push(KeyValue::new("db.system.name", system.to_owned()));
    }
    for (field, key) in [
        ("rows_returned", "db.response.returned_rows"),
        ("rows_affected", "db.response.affected_rows"),
    ] {
        if let Some(rows) = fields.number(field) {
            #[allow(clippy::cast_possible_truncation)]
            attributes.push(KeyValue::new(key, rows as i64));
        }
    }
    let name = summary.unwrap_or_else(|| "query".to_owned());
    let mut span = tracer
        .span_builder(name)
        .with_kind(SpanKind::Client)
        .with_start_time(start)
        .with_attributes(attributes)
        .start_with_context(tracer, parent);
    opentelemetry::trace::Span::end_with_timestamp(&mut span, end);
}
