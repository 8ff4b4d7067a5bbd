//! diesel 2.2+ and diesel-async 0.5+ queries as DB CLIENT spans, for Mackerel's DB view, from
//! diesel's own `Instrumentation` hook: no connection type of diesel's is wrapped or replaced.
//!
//! ```no_run
//! # use diesel::Connection;
//! # fn run<PgConnection: Connection>() -> diesel::ConnectionResult<()> {
//! // Once, before connections are made: every connection made afterwards is traced, pooled
//! // ones (r2d2, deadpool, bb8) and diesel-async's included.
//! mackerel_trace::diesel::install();
//!
//! let mut conn = PgConnection::establish("postgres://app:secret@db.internal/orders")?;
//! # Ok(())
//! # }
//! ```
//!
//! Or for one connection: `conn.set_instrumentation(`[`Instrumentation::new()`]`)`.
//!
//! # The spans
//!
//! Each query is a span of kind CLIENT, a child of the span that is current where the query
//! is issued (a `#[traced]` function, a server span), from the query's start to its end —
//! for diesel-async, from the creation of the query's future to its completion. It is named
//! by its operation and table (`SELECT users`) and carries:
//!
//! - `db.query.text`: the SQL diesel sends, without the bound values diesel appends to it and
//!   with the literal values written into it replaced by `?` (`WHERE id = $1`, `LIMIT ?`);
//! - `db.system.name` (`postgresql`, `mysql`, `sqlite`), `server.address`, `server.port` and
//!   `db.namespace`, read from the URL the connection was made with — never its password. A
//!   MariaDB server reached through a `mysql://` URL is reported as `mysql`;
//! - `db.operation.name` and `db.collection.name`.
//!
//! A query that fails — whenever diesel reports the failure to the hook — sets status `Error`,
//! `error.type` (the kind of database error, such as `UniqueViolation`, `ForeignKeyViolation`
//! or `SerializationFailure`, else the diesel error, such as `DeserializationError`) and an
//! `exception` event with the error's message, as the database wrote it (MySQL and MariaDB
//! repeat the duplicate value in theirs). `NotFound` is not a failure of the query: diesel
//! builds it after a query that ran and found no row, and does not report it to the hook.
//!
//! # What else is recorded, and what is not
//!
//! - **Connecting**: a CLIENT span `connect` (system, address, port and database; a failure
//!   sets status `Error` and `error.type` such as `BadConnection`) when a connection is
//!   established while a span is current — a connection made per request shows its cost in
//!   the request's trace. A pool that connects on a thread or task of its own, with no span
//!   current, adds no span, and neither do the statements a connection runs to set itself up.
//! - **Transactions** have no span of their own: `BEGIN`, `COMMIT`, `ROLLBACK` and savepoints
//!   are statements, each a CLIENT span like any other, under the span that ran the
//!   transaction.
//! - **Queries that never finish**: a diesel-async query future that is dropped before it
//!   completes is never reported finished. Its span ends with a `cancelled` event (as a
//!   dropped `#[traced]` future's does) and no status as soon as it is known never to finish:
//!   when the connection begins, commits or rolls back a transaction or is dropped (no query
//!   of it can still be running then), when a MySQL or SQLite connection starts its next
//!   query (they run one at a time), or when more than 256 are pending. Its end is the last
//!   moment the connection was seen working, not the moment the future was dropped, which
//!   diesel cannot tell. A query that finishes is matched to its span by its statement and
//!   the span it runs under, so pipelined queries on one `AsyncPgConnection` each end their
//!   own span, and a query run again after its first future was dropped ends its own span,
//!   not the dropped one's. (Two pipelined runs of one statement under one span cannot be
//!   told apart: their spans may swap ends.)
//!
//! Sync diesel usually runs on another thread (`tokio::task::spawn_blocking`, a thread pool),
//! where the caller's span is not current: wrap the closure in
//! [`in_current_span`](crate::in_current_span) (or
//! [`in_current_span_with`](crate::in_current_span_with) for a pool's `interact`), or its
//! queries start traces of their own:
//!
//! ```no_run
//! # use diesel::Connection;
//! # fn run<PgConnection: Connection + 'static>(url: String) {
//! let worker = std::thread::spawn(mackerel_trace::in_current_span(move || {
//!     let mut conn = PgConnection::establish(&url)?;
//!     // … queries on `conn`: children of the span current where the thread was spawned
//! #   Ok::<_, diesel::ConnectionError>(())
//! }));
//! # let _ = worker.join();
//! # }
//! ```
//!
//! With no pipeline installed, the hook does nothing and writes no SQL.

mod error;
mod pending;
mod statement;
mod url;

use std::time::SystemTime;

use diesel::connection::{DebugQuery, InstrumentationEvent};
use diesel::result::ConnectionError;
use opentelemetry::trace::{SpanId, SpanKind, TraceContextExt as _, Tracer as _};
use opentelemetry::{Context, KeyValue};

use crate::db_span::{self, DbQuery, Endpoint};
use crate::tracer;
use crate::value::cut_format;
use pending::Pending;

/// Traces every diesel connection made from now on: sets diesel's default instrumentation
/// (`diesel::connection::set_default_instrumentation`) to a new [`Instrumentation`] per
/// connection, which reads the database's address from the URL the connection is made with.
///
/// Call it once, before connections are made (connections already open are not traced);
/// it replaces any default instrumentation set before. Spans go to the pipeline installed
/// when each query runs, so calling it before [`init`](crate::init) is fine.
///
/// See the [module documentation](self) for an example and what the spans carry.
pub fn install() {
    // Fails only when a thread panicked while setting the default; it is then left as it was.
    let _ = diesel::connection::set_default_instrumentation(new_boxed);
}

fn new_boxed() -> Option<Box<dyn diesel::connection::Instrumentation>> {
    Some(Box::new(Instrumentation::new()))
}

/// diesel's `Instrumentation` hook for one connection: its queries as DB CLIENT spans.
///
/// [`install`] gives every new connection one. To trace a single connection, set one on it;
/// as it was not there when the connection was made, tell it the URL (the password is never
/// read):
///
/// ```no_run
/// # use diesel::Connection;
/// # fn run<PgConnection: Connection>(database_url: &str) -> diesel::ConnectionResult<()> {
/// let mut conn = PgConnection::establish(database_url)?;
/// conn.set_instrumentation(mackerel_trace::diesel::Instrumentation::new().url(database_url));
/// # Ok(())
/// # }
/// ```
///
/// diesel-async's connections take it the same way (`AsyncConnection::set_instrumentation`).
#[derive(Debug, Default)]
pub struct Instrumentation {
    /// Where the database is, from the connection's URL.
    endpoint: Option<Endpoint>,
    connecting: Connecting,
    pending: Pending<Context>,
    /// When a query of this connection last started or finished: when unfinished ones end.
    last_seen: Option<SystemTime>,
}

/// Whether a connection is being established, and its span.
#[derive(Debug, Default)]
enum Connecting {
    #[default]
    No,
    /// Outside any span: no span, and its set-up statements are not recorded.
    Untraced,
    /// The `connect` span, parent of the set-up statements.
    Traced(Context),
}

impl Instrumentation {
    /// An instrumentation for one connection; see [`url`](Self::url).
    pub fn new() -> Instrumentation {
        Instrumentation::default()
    }

    /// The URL the connection was made with, for `db.system.name`, `server.address`,
    /// `server.port` and `db.namespace` (never the user name or password): `postgres://…`,
    /// libpq's `host=… dbname=…`, `mysql://…` (or `mariadb://…` to report a MariaDB server as
    /// `mariadb`), or what `SqliteConnection` takes (a path, `:memory:`). Connections made
    /// after [`install`] know it already.
    #[must_use]
    pub fn url(mut self, url: &str) -> Instrumentation {
        self.endpoint = Some(url::endpoint(url));
        self
    }

    fn system(&self) -> Option<&'static str> {
        self.endpoint.as_ref().and_then(|endpoint| endpoint.system)
    }

    fn start_connecting(&mut self, url: &str) {
        let endpoint = url::endpoint(url);
        self.connecting = match tracer::tracer() {
            Some(tracer) if Context::map_current(|cx| cx.has_active_span()) => {
                let mut attributes = Vec::with_capacity(4);
                if let Some(system) = endpoint.system {
                    attributes.push(KeyValue::new("db.system.name", system));
                }
                endpoint.attributes(&mut attributes);
                let parent = Context::current();
                let span = tracer
                    .span_builder("connect")
                    .with_kind(SpanKind::Client)
                    .with_attributes(attributes)
                    .start_with_context(tracer, &parent);
                Connecting::Traced(parent.with_span(span))
            }
            _ => Connecting::Untraced,
        };
        self.endpoint = Some(endpoint);
    }

    fn finish_connecting(&mut self, error: Option<&ConnectionError>) {
        if let Connecting::Traced(cx) = std::mem::take(&mut self.connecting) {
            if let Some(error) = error {
                let message = cut_format(format_args!("{error}"));
                db_span::record_failure(&cx, error::connection_error_type(error), message);
            }
            cx.span().end();
        }
    }

    fn start_query(&mut self, query: &dyn DebugQuery) {
        if matches!(self.system(), Some("mysql" | "mariadb" | "sqlite")) {
            // Each query borrows the connection mutably: none before this one still runs.
            self.end_unfinished();
        }
        let parent = match &self.connecting {
            Connecting::No => Context::current(),
            Connecting::Traced(connect) => connect.clone(),
            Connecting::Untraced => return,
        };
        if tracer::tracer().is_none() {
            return;
        }
        let Some(text) = statement::write(query) else {
            return;
        };
        let sql = statement::without_binds(&text);
        let start = SystemTime::now();
        let endpoint = self.endpoint.as_ref();
        let query = DbQuery::sql(self.system(), sql).at(endpoint);
        let Some(cx) = query.start(&parent, Some(start)) else {
            return;
        };
        self.last_seen = Some(start);
        if let Some(given_up) = self
            .pending
            .start(statement::key(sql), current_span_id(), cx)
        {
            end_as_unfinished(&given_up, start);
        }
    }

    fn finish_query(&mut self, query: &dyn DebugQuery, error: Option<&diesel::result::Error>) {
        if self.pending.is_empty() {
            return;
        }
        let end = SystemTime::now();
        let finished = self.pending.finish(
            || statement::write(query).map(|text| statement::key(statement::without_binds(&text))),
            current_span_id,
        );
        let Some(cx) = finished else {
            return;
        };
        self.last_seen = Some(end);
        if let Some(error) = error {
            if let Some(error_type) = error::query_error_type(error) {
                let message = cut_format(format_args!("{error}"));
                db_span::record_failure(&cx, error_type, message);
            }
        }
        cx.span().end_with_timestamp(end);
    }

    /// Ends every pending query: none of them will finish.
    fn end_unfinished(&mut self) {
        if self.pending.is_empty() {
            return;
        }
        let at = self.last_seen.unwrap_or_else(SystemTime::now);
        for cx in self.pending.unfinished() {
            end_as_unfinished(&cx, at);
        }
    }
}

impl diesel::connection::Instrumentation for Instrumentation {
    fn on_connection_event(&mut self, event: InstrumentationEvent<'_>) {
        match event {
            InstrumentationEvent::StartEstablishConnection { url, .. } => {
                self.start_connecting(url);
            }
            InstrumentationEvent::FinishEstablishConnection { error, .. } => {
                self.finish_connecting(error);
            }
            InstrumentationEvent::StartQuery { query, .. } => self.start_query(query),
            InstrumentationEvent::FinishQuery { query, error, .. } => {
                self.finish_query(query, error);
            }
            // A transaction needs the connection mutably: no query can still be running.
            InstrumentationEvent::BeginTransaction { .. }
            | InstrumentationEvent::CommitTransaction { .. }
            | InstrumentationEvent::RollbackTransaction { .. } => self.end_unfinished(),
            _ => {}
        }
    }
}

impl Drop for Instrumentation {
    fn drop(&mut self) {
        self.end_unfinished();
        // diesel-async reports no end of a connection that failed to connect.
        if let Connecting::Traced(cx) = std::mem::take(&mut self.connecting) {
            end_as_unfinished(&cx, SystemTime::now());
        }
    }
}

/// The span current on this thread (the caller of a query), or the invalid id.
fn current_span_id() -> SpanId {
    Context::map_current(|cx| cx.span().span_context().span_id())
}

/// Ends a span whose operation was never reported finished: a `cancelled` event, no status.
fn end_as_unfinished(cx: &Context, at: SystemTime) {
    let span = cx.span();
    span.add_event_with_timestamp("cancelled", at, Vec::new());
    span.end_with_timestamp(at);
}
