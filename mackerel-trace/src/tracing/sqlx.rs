//! sqlx's `sqlx::query` event (sent when a query finishes) as a CLIENT span for Mackerel's DB
//! view: `db.query.text` without literals, the real start and end, and the row counts.
//!
//! What sqlx 0.9's event carries, all of it used: `summary` (the first four words),
//! `db.statement` (the whole statement, only when longer than the summary), `rows_affected`,
//! `rows_returned`, `elapsed_secs`, and on statements slower than sqlx's threshold a message
//! and `slow_threshold` (kept as a span event). It carries no error, no driver and no address: a
//! failed query is marked by the span of the code that ran it (`#[traced]` records its `Err`),
//! and `db.system.name` comes from [`LayerBuilder::db_system_name`](super::LayerBuilder::db_system_name),
//! or `sqlite` when the event comes from sqlx's SQLite worker thread.

use std::time::{Duration, SystemTime};

use opentelemetry::trace::TraceContextExt as _;
use opentelemetry::{Context, KeyValue};
use tracing_core::Event;

use super::fields::Fields;
use crate::db_span::DbQuery;

/// The prefix of sqlx's SQLite worker thread names (`sqlx-sqlite-worker-0`).
const SQLITE_WORKER: &str = "sqlx-sqlite-worker-";

/// Records the query `event` describes as a span, child of `parent`.
pub(super) fn record_query(event: &Event<'_>, parent: &Context, db_system_name: Option<&str>) {
    let end = SystemTime::now();
    let mut fields = Fields::event();
    event.record(&mut fields);
    let statement = fields.string("db.statement");
    let statement = statement
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty());
    let summary = fields.string("summary");
    let summary = summary.as_deref().map(|s| s.trim_end_matches(" …").trim());
    let Some(sql) = statement.or(summary) else {
        return;
    };
    let elapsed = fields
        .number("elapsed_secs")
        .filter(|secs| secs.is_finite() && *secs >= 0.0)
        .map_or(Duration::ZERO, Duration::from_secs_f64);
    let start = end.checked_sub(elapsed).unwrap_or(end);
    let on_sqlite_worker = || {
        std::thread::current()
            .name()
            .is_some_and(|name| name.starts_with(SQLITE_WORKER))
    };
    let system = db_system_name.or_else(|| on_sqlite_worker().then_some("sqlite"));

    let Some(cx) = DbQuery::sql(system, sql).start(parent, Some(start)) else {
        return;
    };
    let span = cx.span();
    for (field, key) in [
        ("rows_returned", "db.response.returned_rows"),
        ("rows_affected", "db.response.affected_rows"),
    ] {
        if let Some(rows) = fields.number(field) {
            #[allow(clippy::cast_possible_truncation)]
            span.set_attribute(KeyValue::new(key, rows as i64));
        }
    }
    if fields.string("slow_threshold").is_some() {
        // sqlx's slow-statement report: kept as an event, the span's status untouched.
        let message = fields
            .message
            .clone()
            .unwrap_or_else(|| "slow statement".to_owned());
        span.add_event(message, Vec::new());
    }
    span.end_with_timestamp(end);
}
