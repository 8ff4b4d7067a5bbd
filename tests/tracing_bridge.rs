//! The `tracing` bridge over real HTTP to the local receiver: `tracing` spans, sqlx queries and
//! `#[traced]` code in one correctly nested trace, typed fields, events, and the layer's own
//! filter next to a console layer that filters at WARN.
//!
//! One subscriber for the whole test binary, installed before any pipeline starts (as a
//! program that sets up logging first does): the layer finds each test's pipeline by itself.

mod support;

use std::sync::Once;
use std::time::Duration;

use mackerel_trace::testing::{ReceivedSpan, Receiver};
use mackerel_trace::traced;
use tracing::Instrument as _;
use tracing_subscriber::filter::LevelFilter;
use tracing_subscriber::layer::SubscriberExt as _;
use tracing_subscriber::Layer as _;

const CLIENT: i32 = 3;
const STATUS_ERROR: i32 = 2;

/// A console layer stand-in that only wants WARN and above.
struct Console;
impl<S: tracing::Subscriber> tracing_subscriber::Layer<S> for Console {}

fn install_subscriber() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let subscriber = tracing_subscriber::registry()
            .with(Console.with_filter(LevelFilter::WARN))
            .with(
                mackerel_trace::tracing::LayerBuilder::new()
                    .db_system_name("sqlite")
                    .build(),
            );
        tracing::subscriber::set_global_default(subscriber).unwrap();
    });
}

/// Runs `body` with a pipeline exporting to a receiver; returns the spans that arrived.
fn collect(expected: usize, body: impl FnOnce()) -> Vec<ReceivedSpan> {
    install_subscriber();
    let _one = support::exclusive();
    let receiver = Receiver::start();
    let guard = support::start(support::config(&receiver.endpoint(), &[]));
    body();
    guard.shutdown();
    receiver.wait_for_spans(expected, Duration::from_secs(5))
}

fn by_name<'a>(spans: &'a [ReceivedSpan], name: &str) -> &'a ReceivedSpan {
    spans.iter().find(|s| s.name() == name).unwrap_or_else(|| {
        let names: Vec<&str> = spans.iter().map(ReceivedSpan::name).collect();
        panic!("no span {name:?} in {names:?}")
    })
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

#[traced]
fn traced_inner() -> u8 {
    1
}

#[traced]
fn traced_outer() {
    tracing::info_span!("tracing_middle").in_scope(|| {
        traced_inner();
    });
}

#[test]
fn traced_and_tracing_spans_nest_both_ways() {
    let spans = collect(3, traced_outer);
    let outer = by_name(&spans, "traced_outer");
    let middle = by_name(&spans, "tracing_middle");
    let inner = by_name(&spans, "traced_inner");
    assert_eq!(middle.parent_span_id(), Some(outer.span_id()));
    assert_eq!(inner.parent_span_id(), Some(middle.span_id()));
    assert_eq!(inner.trace_id(), outer.trace_id());
    assert!(middle.string_attr("code.file.path").is_some());
}

#[traced]
async fn async_leaf() -> u8 {
    tokio::task::yield_now().await;
    2
}

#[traced]
async fn async_root() {
    async {
        tokio::task::yield_now().await;
        async_leaf().await;
    }
    .instrument(tracing::info_span!("awaited"))
    .await;
    // The leaf is called inside the instrumented future, so its span starts under "spawned"
    // (`tokio::spawn(async_leaf().instrument(..))` would start it here, under async_root).
    tokio::spawn(async { async_leaf().await }.instrument(tracing::info_span!("spawned")))
        .await
        .unwrap();
}

#[test]
fn parents_hold_across_await_and_tokio_spawn() {
    let spans = collect(5, || runtime().block_on(async_root()));
    let root = by_name(&spans, "async_root");
    let awaited = by_name(&spans, "awaited");
    let spawned = by_name(&spans, "spawned");
    assert_eq!(awaited.parent_span_id(), Some(root.span_id()));
    assert_eq!(spawned.parent_span_id(), Some(root.span_id()));
    let leaves: Vec<&ReceivedSpan> = spans.iter().filter(|s| s.name() == "async_leaf").collect();
    assert_eq!(leaves.len(), 2);
    let mut parents: Vec<String> = leaves.iter().filter_map(|s| s.parent_span_id()).collect();
    parents.sort();
    let mut expected = vec![awaited.span_id(), spawned.span_id()];
    expected.sort();
    assert_eq!(parents, expected);
}

#[test]
fn fields_become_typed_attributes_and_events_become_span_events() {
    let spans = collect(1, || {
        let span = tracing::info_span!(
            "typed",
            count = 7u64,
            big = u64::MAX,
            delta = -3i64,
            ratio = 0.25f64,
            ok = true,
            who = "alice",
            list = ?vec![1, 2],
            late = tracing::field::Empty,
        );
        let _entered = span.enter();
        span.record("late", 11u64);
        tracing::info!(cache = "miss", size = 512u64, "fetched profile");
        tracing::error!("the profile was corrupt");
    });
    let span = by_name(&spans, "typed");
    assert_eq!(span.int_attr("count"), Some(7));
    assert_eq!(span.string_attr("big"), Some("18446744073709551615"));
    assert_eq!(span.int_attr("delta"), Some(-3));
    assert_eq!(span.int_attr("late"), Some(11));
    assert_eq!(span.bool_attr("ok"), Some(true));
    assert_eq!(span.string_attr("who"), Some("alice"));
    assert_eq!(span.string_attr("list"), Some("[1, 2]"));
    let ratio = span.attr("ratio").and_then(|v| v.value.clone());
    assert_eq!(
        ratio,
        Some(mackerel_trace::testing::proto::common::v1::any_value::Value::DoubleValue(0.25))
    );

    let event = span.event("fetched profile").expect("an info event");
    let size = event.attributes.iter().find(|kv| kv.key == "size").unwrap();
    assert_eq!(
        size.value.as_ref().and_then(|v| v.value.clone()),
        Some(mackerel_trace::testing::proto::common::v1::any_value::Value::IntValue(512))
    );
    assert!(span.event("the profile was corrupt").is_some());
    let status = span.span.status.as_ref().unwrap();
    assert_eq!(status.code, STATUS_ERROR);
    assert_eq!(status.message, "the profile was corrupt");
}

#[test]
fn the_layers_own_filter_keeps_info_spans_under_a_warn_console_filter_and_drops_debug() {
    let spans = collect(1, || {
        let _info = tracing::info_span!("kept_at_info").entered();
        let _debug = tracing::debug_span!("dropped_at_debug").entered();
    });
    assert!(spans.iter().any(|s| s.name() == "kept_at_info"));
    assert!(!spans.iter().any(|s| s.name() == "dropped_at_debug"));
}

/// The queries run under a `tracing` span: sqlx's SQLite driver runs each statement on its
/// own worker thread and carries only the caller's current `tracing` span there (drivers that
/// run on the caller's task, such as PostgreSQL's, also see `#[traced]` spans directly).
#[traced(record(user = name))]
async fn store_user(pool: &sqlx::SqlitePool, name: &str) -> Result<i64, sqlx::Error> {
    async {
        sqlx::query("CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT NOT NULL, note TEXT)")
            .execute(pool)
            .await?;
        sqlx::query("INSERT INTO users (name, note) VALUES (?, ?)")
            .bind(name)
            .bind("secret-note")
            .execute(pool)
            .await?;
        let (count,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM users")
            .fetch_one(pool)
            .await?;
        Ok(count)
    }
    .instrument(tracing::info_span!("users_db"))
    .await
}

#[test]
fn sqlx_queries_are_client_spans_with_the_sql_under_the_span_that_ran_them() {
    let spans = collect(5, || {
        runtime().block_on(async {
            let pool = sqlx::SqlitePool::connect("sqlite::memory:").await.unwrap();
            assert_eq!(store_user(&pool, "alice").await.unwrap(), 1);
            pool.close().await;
        });
    });
    let traced = by_name(&spans, "store_user");
    let parent = by_name(&spans, "users_db");
    assert_eq!(parent.parent_span_id(), Some(traced.span_id()));
    // Ours, and the pool's own set-up statements (`PRAGMA …` when it connects).
    let query = |text: &str| {
        spans
            .iter()
            .find(|s| s.string_attr("db.query.text") == Some(text))
            .unwrap_or_else(|| panic!("no DB span for {text:?}"))
    };
    let queries = [
        query("CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT NOT NULL, note TEXT)"),
        query("INSERT INTO users (name, note) VALUES (?, ?)"),
        // Four words or fewer: sqlx sends only its summary, which is the whole statement.
        query("SELECT COUNT(*) FROM users"),
    ];
    for query in queries {
        assert_eq!(query.span.kind, CLIENT);
        assert_eq!(query.parent_span_id(), Some(parent.span_id()));
        assert_eq!(query.trace_id(), parent.trace_id());
        assert_eq!(query.string_attr("db.system.name"), Some("sqlite"));
        assert!(query.span.start_time_unix_nano < query.span.end_time_unix_nano);
        assert!(query.span.start_time_unix_nano >= parent.span.start_time_unix_nano);
        assert!(query.span.end_time_unix_nano <= parent.span.end_time_unix_nano);
    }
    assert_eq!(queries[1].int_attr("db.response.affected_rows"), Some(1));
    assert_eq!(queries[2].int_attr("db.response.returned_rows"), Some(1));
    for span in &spans {
        let text = span.string_attr("db.query.text").unwrap_or_default();
        assert!(
            !text.contains("alice") && !text.contains("secret-note"),
            "a bound value: {text}"
        );
    }
}

/// No `tracing` span anywhere: the `#[traced]` span itself reaches sqlx's SQLite worker.
#[traced]
async fn rename_user(pool: &sqlx::SqlitePool, name: &str) -> Result<u64, sqlx::Error> {
    sqlx::query("CREATE TABLE people (id INTEGER PRIMARY KEY, name TEXT NOT NULL)")
        .execute(pool)
        .await?;
    sqlx::query("INSERT INTO people (id, name) VALUES (7, 'bob')")
        .execute(pool)
        .await?;
    let done = sqlx::query("UPDATE people SET name = ? WHERE id = 7 AND name <> 'x'")
        .bind(name)
        .execute(pool)
        .await?;
    Ok(done.rows_affected())
}

#[test]
fn sqlite_queries_are_children_of_a_traced_span_with_no_tracing_span_around_them() {
    let spans = collect(5, || {
        runtime().block_on(async {
            let pool = sqlx::SqlitePool::connect("sqlite::memory:").await.unwrap();
            assert_eq!(rename_user(&pool, "s3cret-bound-name").await.unwrap(), 1);
            pool.close().await;
        });
    });
    let traced = by_name(&spans, "rename_user");
    // Ours, in the order they ran; not the `PRAGMA …` the pool runs when it opens a connection.
    let mut queries: Vec<&ReceivedSpan> = spans
        .iter()
        .filter(|s| s.parent_span_id() == Some(traced.span_id()))
        .filter(|s| !s.name().starts_with("PRAGMA"))
        .collect();
    queries.sort_by_key(|s| s.span.start_time_unix_nano);
    let texts: Vec<&str> = queries
        .iter()
        .filter_map(|s| s.string_attr("db.query.text"))
        .collect();
    assert_eq!(
        texts,
        [
            "CREATE TABLE people (id INTEGER PRIMARY KEY, name TEXT NOT NULL)",
            // Literals written into the statement are `?`, so one row in the DB view.
            "INSERT INTO people (id, name) VALUES (?, ?)",
            "UPDATE people SET name = ? WHERE id = ? AND name <> ?",
        ]
    );
    let names: Vec<&str> = queries.iter().map(|s| s.name()).collect();
    assert_eq!(names, ["CREATE people", "INSERT people", "UPDATE people"]);
    for query in &queries {
        assert_eq!(query.span.kind, CLIENT);
        assert_eq!(query.trace_id(), traced.trace_id());
        assert!(query.span.start_time_unix_nano >= traced.span.start_time_unix_nano);
        assert!(query.span.end_time_unix_nano <= traced.span.end_time_unix_nano);
        assert!(query.string_attr("db.operation.name").is_some());
    }
    assert_eq!(queries[1].string_attr("db.collection.name"), Some("people"));
    for span in &spans {
        assert!(
            !format!("{:?}", span.span).contains("s3cret-bound-name"),
            "a bound value in {}",
            span.name()
        );
    }
}

#[traced]
async fn spawned_leaf() -> u8 {
    tracing::info!("in the leaf");
    3
}

/// `Instrument::in_current_span` carries `tracing`'s current span: inside a `#[traced]` call
/// that is the traced span (shown to `tracing`), although no `tracing` span was opened.
#[traced]
async fn spawning_root() -> u8 {
    // The leaf is called inside the spawned task, where only what `in_current_span` carried
    // is current.
    tokio::spawn(async { spawned_leaf().await }.in_current_span())
        .await
        .unwrap()
}

#[test]
fn what_carries_tracings_current_span_to_another_task_carries_a_traced_span() {
    let spans = collect(2, || {
        assert_eq!(runtime().block_on(spawning_root()), 3);
    });
    let root = by_name(&spans, "spawning_root");
    let leaf = by_name(&spans, "spawned_leaf");
    assert_eq!(leaf.parent_span_id(), Some(root.span_id()));
    assert!(leaf.event("in the leaf").is_some());
    // The mirror that carried it is no span of its own.
    assert_eq!(
        spans.len(),
        2,
        "{:?}",
        spans.iter().map(ReceivedSpan::name).collect::<Vec<_>>()
    );
}

#[traced]
fn on_a_blocking_thread() -> u8 {
    tracing::info_span!("inside_blocking").in_scope(|| 4)
}

#[traced]
async fn hands_work_to_a_blocking_thread() -> u8 {
    tokio::task::spawn_blocking(mackerel_trace::in_current_span(on_a_blocking_thread))
        .await
        .unwrap()
}

#[test]
fn in_current_span_carries_the_callers_span_to_spawn_blocking() {
    let spans = collect(3, || {
        assert_eq!(runtime().block_on(hands_work_to_a_blocking_thread()), 4);
    });
    let caller = by_name(&spans, "hands_work_to_a_blocking_thread");
    let blocking = by_name(&spans, "on_a_blocking_thread");
    let inside = by_name(&spans, "inside_blocking");
    assert_eq!(blocking.parent_span_id(), Some(caller.span_id()));
    assert_eq!(inside.parent_span_id(), Some(blocking.span_id()));
}

#[traced(kind = client, record(db.system.name = "postgresql", db.query.text = sql))]
fn query_of_ones_own(sql: &str) -> usize {
    sql.len()
}

#[test]
fn the_db_recipe_for_code_of_ones_own_meets_the_db_views_rule() {
    let spans = collect(1, || {
        query_of_ones_own("SELECT id FROM orders WHERE customer = $1");
    });
    let span = by_name(&spans, "query_of_ones_own");
    assert_eq!(span.span.kind, CLIENT);
    assert_eq!(
        span.string_attr("db.query.text"),
        Some("SELECT id FROM orders WHERE customer = $1")
    );
    assert_eq!(span.string_attr("db.system.name"), Some("postgresql"));
}

async fn count_rows(axum::extract::State(pool): axum::extract::State<sqlx::SqlitePool>) -> String {
    let (count,): (i64,) =
        sqlx::query_as("SELECT COUNT(*) FROM sqlite_master WHERE type = 'table'")
            .fetch_one(&pool)
            .await
            .unwrap();
    count.to_string()
}

#[test]
fn a_sqlite_query_in_an_axum_handler_is_a_child_of_the_server_span() {
    let spans = collect(2, || {
        runtime().block_on(async {
            let pool = sqlx::SqlitePool::connect("sqlite::memory:").await.unwrap();
            let app = axum::Router::new()
                .route("/count", axum::routing::get(count_rows))
                .with_state(pool.clone())
                .layer(mackerel_trace::tower::ServerLayer::new());
            let base = support::serve(app).await;
            assert_eq!(support::get_text(&format!("{base}/count")).await, "0");
            pool.close().await;
        });
    });
    let server = by_name(&spans, "GET /count");
    let query = spans
        .iter()
        .find(|s| {
            s.string_attr("db.query.text")
                == Some("SELECT COUNT(*) FROM sqlite_master WHERE type = ?")
        })
        .expect("the handler's query, with its literal as ?");
    assert_eq!(query.parent_span_id(), Some(server.span_id()));
    assert_eq!(query.trace_id(), server.trace_id());
    assert_eq!(query.name(), "SELECT sqlite_master");
    assert_eq!(query.span.kind, CLIENT);
}

/// The name of `tracing`'s current span where it is called.
async fn tracing_current_span_name() -> Option<&'static str> {
    tracing::Span::current().metadata().map(|meta| meta.name())
}

#[traced]
async fn traced_probe() -> Option<&'static str> {
    tracing_current_span_name().await
}

#[test]
fn a_traced_future_is_shown_to_tracing_as_a_mirror_that_is_no_span_of_its_own() {
    let spans = collect(1, || {
        assert_eq!(runtime().block_on(traced_probe()), Some("traced"));
    });
    let names: Vec<&str> = spans.iter().map(ReceivedSpan::name).collect();
    assert_eq!(names, ["traced_probe"]);
}
