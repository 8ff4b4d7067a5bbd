//! What a DB span adds to a query, against the query alone, in the same run: one sqlx query on
//! SQLite in memory (a single pooled connection, so every query goes to the same worker
//! thread), through `mackerel_trace::tracing::layer()` as the process's subscriber.
//!
//! - `sqlx_query_alone`: the layer installed, no pipeline: its filter turns sqlx's query event
//!   away before sqlx formats it, as with no subscriber at all.
//! - `sqlx_query_with_db_span`: a pipeline installed (the discarding provider): sqlx formats its
//!   event and the layer records a CLIENT span from it on the worker thread.
//! - `sqlx_query_under_traced`: the same inside a `#[traced]` async call, whose span is shown to
//!   `tracing` so that the worker carries it (the DB span's parent): query + DB span + traced
//!   span + its mirror.
//!
//! `cargo bench -p mackerel-trace-benches --bench db`

use std::sync::OnceLock;

use divan::Bencher;
use mackerel_trace::traced;
use mackerel_trace_benches::discarding_provider;
use sqlx::sqlite::SqlitePoolOptions;
use sqlx::SqlitePool;
use tracing_subscriber::layer::SubscriberExt as _;

fn main() {
    // sqlx's SQLite worker emits its query events on its own thread: only a global subscriber
    // sees them.
    let subscriber = tracing_subscriber::registry().with(mackerel_trace::tracing::layer());
    tracing::subscriber::set_global_default(subscriber).expect("the only subscriber");
    divan::main();
}

fn runtime() -> &'static tokio::runtime::Runtime {
    static RUNTIME: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RUNTIME.get_or_init(|| {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("tokio runtime")
    })
}

fn pool() -> SqlitePool {
    runtime().block_on(async {
        let pool = SqlitePoolOptions::new()
            .min_connections(1)
            .max_connections(1)
            .connect("sqlite::memory:")
            .await
            .expect("SQLite in memory");
        sqlx::query("CREATE TABLE items (id INTEGER PRIMARY KEY, name TEXT NOT NULL)")
            .execute(&pool)
            .await
            .expect("create");
        sqlx::query("INSERT INTO items (id, name) VALUES (1, 'tea')")
            .execute(&pool)
            .await
            .expect("insert");
        // Warm: the worker thread, its statement cache, the allocator.
        for _ in 0..1_000 {
            query(&pool).await;
        }
        pool
    })
}

async fn query(pool: &SqlitePool) -> String {
    let (name,): (String,) = sqlx::query_as("SELECT name FROM items WHERE id = ?")
        .bind(1_i64)
        .fetch_one(pool)
        .await
        .expect("one row");
    name
}

#[traced]
async fn traced_query(pool: &SqlitePool) -> String {
    query(pool).await
}

#[divan::bench]
fn sqlx_query_alone(bencher: Bencher) {
    let pool = pool();
    bencher.bench_local(|| runtime().block_on(query(&pool)));
}

#[divan::bench]
fn sqlx_query_with_db_span(bencher: Bencher) {
    let pool = pool();
    let provider = discarding_provider();
    mackerel_trace::set_tracer_provider(provider.clone());
    bencher.bench_local(|| runtime().block_on(query(&pool)));
    let _ = provider.shutdown();
    off();
}

#[divan::bench]
fn sqlx_query_under_traced(bencher: Bencher) {
    let pool = pool();
    let provider = discarding_provider();
    mackerel_trace::set_tracer_provider(provider.clone());
    bencher.bench_local(|| runtime().block_on(traced_query(&pool)));
    let _ = provider.shutdown();
    off();
}

/// Uninstalls the pipeline again.
fn off() {
    let guard = mackerel_trace::Config::new()
        .with_env_vars([("OTEL_SDK_DISABLED", "true")])
        .init()
        .expect("OTEL_SDK_DISABLED");
    assert!(!guard.is_enabled());
}
