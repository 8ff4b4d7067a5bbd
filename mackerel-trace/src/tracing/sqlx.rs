//! sqlx's `sqlx::query` event (sent when a query finishes) as a CLIENT span for Mackerel's DB
//! view: `db.query.text` without literals, the real start and end, and the row counts.
//!
//! What sqlx 0.9's event carries, all of it used: `summary` (the first four words),
//! `db.statement` (the whole statement, only when longer than the summary), `rows_affected`,
//! `rows_returned`, `elapsed_secs`, and on statements slower than sqlx's threshold a message
//! and `slow_threshold` (kept as a span event). It carries no error, no driver and no address:
//! a failed query is marked by the span of the code that ran it (`#[traced]` records its
//! `Err`), and `db.system.name` comes from
//! [`LayerBuilder::db_system_name`](super::LayerBuilder::db_system_name), or `sqlite` when the
//! event comes from sqlx's SQLite worker thread.

use std::fmt;
use std::time::{Duration, SystemTime};

use opentelemetry::trace::TraceContextExt as _;
use opentelemetry::{Context, KeyValue};
use tracing_core::field::{Field, Visit};
use tracing_core::Event;

use crate::db_span::{sanitize_sql, DbQuery};
use crate::value::cut_format;

/// The prefix of sqlx's SQLite worker thread names (`sqlx-sqlite-worker-0`).
const SQLITE_WORKER: &str = "sqlx-sqlite-worker-";

/// Records the query `event` describes as a span, child of `parent`.
pub(super) fn record_query(event: &Event<'_>, parent: &Context, db_system_name: Option<&str>) {
    let end = SystemTime::now();
    let on_sqlite_worker = || {
        std::thread::current()
            .name()
            .is_some_and(|name| name.starts_with(SQLITE_WORKER))
    };
    let system = db_system_name.or_else(|| on_sqlite_worker().then_some("sqlite"));
    let mut query = QueryEvent {
        system,
        ..QueryEvent::default()
    };
    event.record(&mut query);
    // The summary (sqlx's first four words) is the statement when it is all there is.
    let Some(text) = query
        .statement
        .or_else(|| query.summary.map(|summary| sanitize_sql(&summary, system)))
    else {
        return;
    };
    let elapsed = query
        .elapsed_secs
        .filter(|secs| secs.is_finite() && *secs >= 0.0)
        .map_or(Duration::ZERO, Duration::from_secs_f64);
    let start = end.checked_sub(elapsed).unwrap_or(end);

    let Some(cx) = DbQuery::sanitized(system, text).start(parent, Some(start)) else {
        return;
    };
    let span = cx.span();
    for (rows, key) in [
        (query.rows_returned, "db.response.returned_rows"),
        (query.rows_affected, "db.response.affected_rows"),
    ] {
        if let Some(rows) = rows {
            span.set_attribute(KeyValue::new(key, i64::try_from(rows).unwrap_or(i64::MAX)));
        }
    }
    if query.slow {
        // sqlx's slow-statement report: kept as an event, the span's status untouched.
        let message = query.message.unwrap_or_else(|| "slow statement".to_owned());
        span.add_event(message, Vec::new());
    }
    span.end_with_timestamp(end);
}

/// What the span needs from sqlx's event, read in one pass: the statement sanitized as it is
/// read (never copied as it came), the summary kept for when there is no statement, and
/// nothing formatted that the span does not use.
#[derive(Default)]
struct QueryEvent<'a> {
    system: Option<&'a str>,
    statement: Option<String>,
    summary: Option<String>,
    rows_returned: Option<u64>,
    rows_affected: Option<u64>,
    elapsed_secs: Option<f64>,
    message: Option<String>,
    slow: bool,
}

impl Visit for QueryEvent<'_> {
    fn record_str(&mut self, field: &Field, value: &str) {
        match field.name() {
            "db.statement" => {
                let statement = value.trim();
                if !statement.is_empty() {
                    self.statement = Some(sanitize_sql(statement, self.system));
                }
            }
            "summary" => {
                self.summary = Some(value.trim_end_matches(" …").trim().to_owned());
            }
            _ => {}
        }
    }

    fn record_u64(&mut self, field: &Field, value: u64) {
        match field.name() {
            "rows_returned" => self.rows_returned = Some(value),
            "rows_affected" => self.rows_affected = Some(value),
            _ => {}
        }
    }

    fn record_f64(&mut self, field: &Field, value: f64) {
        if field.name() == "elapsed_secs" {
            self.elapsed_secs = Some(value);
        }
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        match field.name() {
            "slow_threshold" => self.slow = true,
            "message" => self.message = Some(cut_format(format_args!("{value:?}"))),
            _ => {}
        }
    }
}
