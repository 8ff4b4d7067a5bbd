//! Database CLIENT spans by the stable semantic conventions, shared by the sqlx bridge, diesel
//! and redis: what Mackerel's DB view reads (kind CLIENT and `db.query.text`, grouped by that
//! text), and nothing it must not see (bound values, literals, passwords).

mod endpoint;
mod sql;

use std::time::SystemTime;

use opentelemetry::trace::{SpanKind, TraceContextExt as _};
use opentelemetry::{Context, KeyValue};

use crate::tracer;

#[allow(unused_imports)] // each integration uses a different part
pub(crate) use endpoint::Endpoint;
#[allow(unused_imports)]
pub(crate) use sql::{sanitize_sql, summarize_sql, SqlSummary};

/// One query, as the span describes it.
#[derive(Debug, Default)]
pub(crate) struct DbQuery<'a> {
    /// `db.system.name`: `postgresql`, `mysql`, `mariadb`, `sqlite`, `redis`.
    pub(crate) system: Option<&'a str>,
    /// `db.query.text`: already without values ([`sanitize_sql`], or a redis command's shape).
    pub(crate) text: String,
    /// `db.operation.name`: `SELECT`, `INSERT`, `GET`, `PIPELINE`.
    pub(crate) operation: Option<String>,
    /// `db.collection.name`: the one table a statement names, when it is plain to see.
    pub(crate) collection: Option<String>,
    /// Where the database is: `server.address`, `server.port`, `db.namespace`.
    pub(crate) endpoint: Option<&'a Endpoint>,
}

impl<'a> DbQuery<'a> {
    /// A SQL statement: sanitized (literals as `?`), its operation and table read from it.
    pub(crate) fn sql(system: Option<&'a str>, sql: &str) -> DbQuery<'a> {
        DbQuery::sanitized(system, sanitize_sql(sql, system))
    }

    /// A SQL statement already sanitized by [`sanitize_sql`]: its operation and table read
    /// from it.
    pub(crate) fn sanitized(system: Option<&'a str>, text: String) -> DbQuery<'a> {
        let SqlSummary {
            operation,
            collection,
        } = summarize_sql(&text);
        DbQuery {
            system,
            text,
            operation,
            collection,
            endpoint: None,
        }
    }

    /// Where the database is, when the client knows.
    pub(crate) fn at(mut self, endpoint: Option<&'a Endpoint>) -> Self {
        self.endpoint = endpoint;
        self
    }

    /// The span name: `{operation} {table}`, `{operation}`, or the system's name; never the
    /// whole statement.
    pub(crate) fn span_name(&self) -> String {
        match (&self.operation, &self.collection) {
            (Some(operation), Some(collection)) => format!("{operation} {collection}"),
            (Some(operation), None) => operation.clone(),
            (None, _) => self.system.unwrap_or("query").to_owned(),
        }
    }

    /// Starts the CLIENT span under `parent` (at `start`, or now), as the current span of the
    /// returned context. `None` when no pipeline is installed.
    pub(crate) fn start(self, parent: &Context, start: Option<SystemTime>) -> Option<Context> {
        let tracer = tracer::tracer()?;
        let name = self.span_name();
        let mut attributes = Vec::with_capacity(8);
        if let Some(system) = self.system {
            attributes.push(KeyValue::new("db.system.name", system.to_owned()));
        }
        if let Some(operation) = self.operation {
            attributes.push(KeyValue::new("db.operation.name", operation));
        }
        if let Some(collection) = self.collection {
            attributes.push(KeyValue::new("db.collection.name", collection));
        }
        if let Some(endpoint) = self.endpoint {
            endpoint.attributes(&mut attributes);
        }
        attributes.push(KeyValue::new("db.query.text", self.text));
        Some(crate::tracer::start_span(
            tracer,
            name,
            SpanKind::Client,
            attributes,
            start,
            parent,
        ))
    }
}

/// Marks the query of `cx` failed: status `Error`, `error.type` (the client's kind of error,
/// such as `UniqueViolation`) and an `exception` event with `message`.
pub(crate) fn record_failure(cx: &Context, error_type: &'static str, message: String) {
    crate::exception::record_error(cx.span(), error_type, message, None);
}
