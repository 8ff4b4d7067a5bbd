//! sqlx against real PostgreSQL and MariaDB servers (tests/support/servers.rs), through the
//! `tracing` bridge, over real HTTP to the local OTLP receiver: what Mackerel's DB view reads
//! from the decoded wire spans — kind CLIENT, the parent that issued the query, `db.query.text`
//! without bound values and with literals as `?`, a short name, `db.operation.name`,
//! `db.system.name` — and what a failing query looks like.
//!
//! sqlx's query event does not say which driver ran it, so the subscriber's bridge is told
//! (`LayerBuilder::db_system_name`), and one subscriber can name only one database. This binary
//! tests two, so each test builds the subscriber a program would install (a console layer
//! filtering at WARN, the bridge with its own filter) and makes it the default of every thread
//! of its tokio runtime, where a program would install it globally.

mod support;

use std::future::Future;
use std::time::Duration;

use mackerel_trace::testing::{ReceivedSpan, Receiver};
use tracing::Dispatch;
use tracing_subscriber::filter::LevelFilter;
use tracing_subscriber::layer::SubscriberExt as _;
use tracing_subscriber::Layer as _;

const SERVER: i32 = 2;
const CLIENT: i32 = 3;
const STATUS_ERROR: i32 = 2;

/// Bound into a query: it must reach no span.
const SECRET: &str = "s3cret-bound-value";
const SCHEMA: &str = "DROP TABLE IF EXISTS users; \
    CREATE TABLE users (id BIGINT PRIMARY KEY, name VARCHAR(64) NOT NULL, secret VARCHAR(64))";
/// The read of `add_user`, written with literals, as the DB view must group it.
const SELECT_WITH_LITERALS: &str = "SELECT name FROM users WHERE id = 42 AND name <> 'x'";
const SELECT_SANITIZED: &str = "SELECT name FROM users WHERE id = ? AND name <> ?";

/// A console layer stand-in that only wants WARN and above.
struct Console;
impl<S: tracing::Subscriber> tracing_subscriber::Layer<S> for Console {}

/// One test's tokio runtime, every thread of which (and the caller's, in `run`) has the
/// subscriber whose bridge names the database `system`.
struct World {
    dispatch: Dispatch,
    runtime: tokio::runtime::Runtime,
}

impl World {
    fn new(system: &str) -> World {
        let dispatch = Dispatch::new(
            tracing_subscriber::registry()
                .with(Console.with_filter(LevelFilter::WARN))
                .with(
                    mackerel_trace::tracing::LayerBuilder::new()
                        .db_system_name(system)
                        .build(),
                ),
        );
        let on_each_thread = dispatch.clone();
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .on_thread_start(move || {
                // For the thread's whole life: the guard would only restore "no subscriber".
                std::mem::forget(tracing::dispatcher::set_default(&on_each_thread));
            })
            .build()
            .unwrap();
        World { dispatch, runtime }
    }

    fn run<F: Future>(&self, future: F) -> F::Output {
        tracing::dispatcher::with_default(&self.dispatch, || self.runtime.block_on(future))
    }

    /// Runs `body` with a pipeline exporting to a local receiver; returns the spans that arrived.
    ///
    /// The pipeline starts and stops under the subscriber too, as under a global one: starting
    /// and stopping rebuild `tracing`'s interest cache, which, while one subscriber exists,
    /// asks the calling thread's default.
    fn record(&self, expected: usize, body: impl Future<Output = ()>) -> Vec<ReceivedSpan> {
        tracing::dispatcher::with_default(&self.dispatch, || {
            let receiver = Receiver::start();
            let guard = support::start(support::config(&receiver.endpoint(), &[]));
            self.runtime.block_on(body);
            guard.shutdown();
            receiver.wait_for_spans(expected, Duration::from_secs(5))
        })
    }
}

fn by_name<'a>(spans: &'a [ReceivedSpan], name: &str) -> &'a ReceivedSpan {
    spans
        .iter()
        .find(|s| s.name() == name)
        .unwrap_or_else(|| panic!("no span {name:?} in {:?}", names(spans)))
}

fn names(spans: &[ReceivedSpan]) -> Vec<&str> {
    spans.iter().map(ReceivedSpan::name).collect()
}

/// The spans whose `db.query.text` is `text`.
fn queries<'a>(spans: &'a [ReceivedSpan], text: &str) -> Vec<&'a ReceivedSpan> {
    let found: Vec<&ReceivedSpan> = spans
        .iter()
        .filter(|s| s.string_attr("db.query.text") == Some(text))
        .collect();
    assert!(
        !found.is_empty(),
        "no DB span for {text:?} in {}",
        texts(spans)
    );
    found
}

fn query<'a>(spans: &'a [ReceivedSpan], text: &str) -> &'a ReceivedSpan {
    let found = queries(spans, text);
    assert_eq!(found.len(), 1, "one DB span for {text:?}");
    found[0]
}

fn texts(spans: &[ReceivedSpan]) -> String {
    let texts: Vec<(&str, Option<&str>)> = spans
        .iter()
        .map(|s| (s.name(), s.string_attr("db.query.text")))
        .collect();
    format!("{texts:?}")
}

fn status_code(span: &ReceivedSpan) -> i32 {
    span.span.status.as_ref().map_or(0, |s| s.code)
}

/// `child` is a child of `parent` in its trace, and runs within it.
fn assert_child_within(child: &ReceivedSpan, parent: &ReceivedSpan) {
    assert_eq!(child.trace_id(), parent.trace_id());
    assert_eq!(child.parent_span_id(), Some(parent.span_id()));
    assert!(child.span.start_time_unix_nano <= child.span.end_time_unix_nano);
    assert!(child.span.start_time_unix_nano >= parent.span.start_time_unix_nano);
    assert!(child.span.end_time_unix_nano <= parent.span.end_time_unix_nano);
}

/// Both queries of `add_user` are CLIENT spans under it, naming the database.
fn assert_queries_are_client_children(spans: &[ReceivedSpan], insert_text: &str, system: &str) {
    let traced = by_name(spans, "add_user");
    for text in [insert_text, SELECT_SANITIZED] {
        let query = query(spans, text);
        assert_eq!(query.span.kind, CLIENT, "{text}");
        assert_child_within(query, traced);
        assert_eq!(query.string_attr("db.system.name"), Some(system));
    }
}

/// What the DB view groups by: no bound value anywhere, literals as `?`, a short name.
fn assert_texts_without_values(spans: &[ReceivedSpan], insert_text: &str) {
    for span in spans {
        let everything = format!("{:?}", span.span);
        assert!(!everything.contains(SECRET), "a bound value: {everything}");
    }
    assert!(
        !texts(spans).contains(SELECT_WITH_LITERALS),
        "literals reached the wire: {}",
        texts(spans)
    );
    let select = query(spans, SELECT_SANITIZED);
    assert_eq!(select.name(), "SELECT users");
    assert_eq!(select.string_attr("db.operation.name"), Some("SELECT"));
    assert_eq!(select.string_attr("db.collection.name"), Some("users"));
    assert_eq!(select.int_attr("db.response.returned_rows"), Some(1));

    let insert = query(spans, insert_text);
    assert_eq!(insert.name(), "INSERT users");
    assert_eq!(insert.string_attr("db.operation.name"), Some("INSERT"));
    assert_eq!(insert.int_attr("db.response.affected_rows"), Some(1));
}

/// `user_name` ran behind `ServerLayer`: its query is in the SERVER span's trace, below it.
fn assert_under_server_span(spans: &[ReceivedSpan], text: &str, system: &str) {
    let server = by_name(spans, "GET /users/{id}");
    assert_eq!(server.span.kind, SERVER);
    let query = query(spans, text);
    assert_eq!(query.span.kind, CLIENT);
    assert_eq!(query.string_attr("db.system.name"), Some(system));
    assert_eq!(query.trace_id(), server.trace_id());
    let mut parent = query.parent_span_id();
    let mut chain = Vec::new();
    while let Some(id) = parent.clone().filter(|id| *id != server.span_id()) {
        let span = spans
            .iter()
            .find(|s| s.span_id() == id)
            .unwrap_or_else(|| panic!("the parent {id} of {chain:?} never arrived"));
        chain.push(span.name().to_owned());
        parent = span.parent_span_id();
    }
    assert_eq!(
        parent,
        Some(server.span_id()),
        "the query is not below the server span: {chain:?}"
    );
    assert!(query.span.start_time_unix_nano >= server.span.start_time_unix_nano);
    assert!(query.span.end_time_unix_nano <= server.span.end_time_unix_nano);
}

/// `add_user_twice` returned the unique violation of its second INSERT: the traced function is
/// the error; sqlx's query event carries no error, so both INSERT spans are plain children.
fn assert_failure_marks_the_traced_fn(spans: &[ReceivedSpan], insert_text: &str) {
    let traced = by_name(spans, "add_user_twice");
    assert_eq!(status_code(traced), STATUS_ERROR);
    assert_eq!(
        traced.string_attr("error.type"),
        Some("sqlx_core::error::Error")
    );
    assert!(traced.event("exception").is_some());
    let inserts = queries(spans, insert_text);
    assert_eq!(inserts.len(), 2, "{}", texts(spans));
    for insert in inserts {
        assert_child_within(insert, traced);
        assert_eq!(insert.span.kind, CLIENT);
        assert_ne!(status_code(insert), STATUS_ERROR);
    }
}

async fn get(url: String) -> String {
    let response = reqwest::get(url).await.unwrap();
    assert_eq!(response.status(), 200);
    response.text().await.unwrap()
}

/// The same tests for each database, with its pool type, its shared server, and SQL in its
/// dialect.
macro_rules! sqlx_tests {
    (
        pool: $pool:ty,
        server: $server:path,
        system: $system:literal,
        insert: $insert:literal,
        select_by_id: $select_by_id:literal,
        duplicate_key: $duplicate_key:literal $(,)?
    ) => {
        use axum::extract::{Path, State};
        use mackerel_trace::testing::ReceivedSpan;
        use mackerel_trace::traced;

        use super::{support, World};

        const SYSTEM: &str = $system;
        const INSERT: &str = $insert;
        const SELECT_BY_ID: &str = $select_by_id;

        /// Stores a user with a bound secret, and reads the name back by literals.
        #[traced]
        async fn add_user(pool: &$pool) -> Result<String, sqlx::Error> {
            sqlx::query(INSERT)
                .bind(42_i64)
                .bind("alice")
                .bind(super::SECRET)
                .execute(pool)
                .await?;
            sqlx::query_scalar(super::SELECT_WITH_LITERALS)
                .fetch_one(pool)
                .await
        }

        #[traced]
        async fn add_user_twice(pool: &$pool) -> Result<(), sqlx::Error> {
            for _ in 0..2 {
                sqlx::query(INSERT)
                    .bind(7_i64)
                    .bind("bob")
                    .bind(super::SECRET)
                    .execute(pool)
                    .await?;
            }
            Ok(())
        }

        async fn user_name(State(pool): State<$pool>, Path(id): Path<i64>) -> String {
            sqlx::query_scalar(SELECT_BY_ID)
                .bind(id)
                .fetch_one(&pool)
                .await
                .unwrap()
        }

        /// Runs `body` with a pool on the shared server and a fresh `users` table (made before
        /// the pipeline starts, so unrecorded). `None`: the server is not installed.
        fn collect<F, Fut>(expected: usize, body: F) -> Option<Vec<ReceivedSpan>>
        where
            F: FnOnce($pool) -> Fut,
            Fut: std::future::Future<Output = ()>,
        {
            let server = $server()?;
            let _one = support::exclusive();
            let world = World::new(SYSTEM);
            let pool = world.run(async {
                let pool = <$pool>::connect(&server.url).await.unwrap();
                sqlx::raw_sql(super::SCHEMA).execute(&pool).await.unwrap();
                pool
            });
            let spans = world.record(expected, body(pool.clone()));
            world.run(pool.close());
            Some(spans)
        }

        #[test]
        fn a_query_in_a_traced_async_fn_is_its_client_child() {
            let Some(spans) = collect(3, |pool| async move {
                assert_eq!(add_user(&pool).await.unwrap(), "alice");
            }) else {
                return;
            };
            super::assert_queries_are_client_children(&spans, INSERT, SYSTEM);
        }

        #[test]
        fn the_query_text_has_no_bound_values_and_literals_as_question_marks() {
            let Some(spans) = collect(3, |pool| async move {
                add_user(&pool).await.unwrap();
            }) else {
                return;
            };
            super::assert_texts_without_values(&spans, INSERT);
        }

        #[test]
        fn a_query_in_an_axum_handler_is_below_the_server_span() {
            let Some(spans) = collect(2, |pool| async move {
                add_user(&pool).await.unwrap();
                let app = axum::Router::new()
                    .route("/users/{id}", axum::routing::get(user_name))
                    .with_state(pool)
                    .layer(mackerel_trace::tower::ServerLayer::new());
                let base = support::serve(app).await;
                assert_eq!(super::get(format!("{base}/users/42")).await, "alice");
            }) else {
                return;
            };
            super::assert_under_server_span(&spans, SELECT_BY_ID, SYSTEM);
        }

        #[test]
        fn a_failing_query_fails_the_traced_fn_that_returns_its_err() {
            let Some(spans) = collect(3, |pool| async move {
                let error = add_user_twice(&pool).await.unwrap_err();
                let code = error.as_database_error().and_then(|e| e.code());
                assert_eq!(
                    code.as_deref(),
                    Some($duplicate_key),
                    "duplicate key: {error}"
                );
            }) else {
                return;
            };
            super::assert_failure_marks_the_traced_fn(&spans, INSERT);
        }
    };
}

mod postgres {
    sqlx_tests! {
        pool: sqlx::PgPool,
        server: support::servers::shared_postgres,
        system: "postgresql",
        insert: "INSERT INTO users (id, name, secret) VALUES ($1, $2, $3)",
        select_by_id: "SELECT name FROM users WHERE id = $1",
        // unique_violation
        duplicate_key: "23505",
    }
}

mod mariadb {
    sqlx_tests! {
        pool: sqlx::MySqlPool,
        server: support::servers::shared_mariadb,
        // What sqlx's MySQL driver speaks to MariaDB: the MySQL protocol and dialect.
        system: "mysql",
        insert: "INSERT INTO users (id, name, secret) VALUES (?, ?, ?)",
        select_by_id: "SELECT name FROM users WHERE id = ?",
        // Integrity constraint violation (MariaDB's ER_DUP_ENTRY)
        duplicate_key: "23000",
    }
}
