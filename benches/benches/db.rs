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
//! And one diesel query on SQLite in memory (sync, on the calling thread):
//!
//! - `diesel_query_alone`: a connection with no instrumentation;
//! - `diesel_query_instrumented_no_pipeline`: with `mackerel_trace::diesel::Instrumentation`,
//!   no pipeline installed (the hook returns at once);
//! - `diesel_query_with_db_span`: with the instrumentation and a pipeline.
//!
//! `cargo bench -p mackerel-trace-benches --bench db`

use divan::Bencher;
use mackerel_trace_benches::db::{
    diesel_connection, diesel_query, off, pool, query, runtime, traced_query,
};
use mackerel_trace_benches::discarding_provider;
use tracing_subscriber::layer::SubscriberExt as _;

fn main() {
    // sqlx's SQLite worker emits its query events on its own thread: only a global subscriber
    // sees them.
    let subscriber = tracing_subscriber::registry().with(mackerel_trace::tracing::layer());
    tracing::subscriber::set_global_default(subscriber).expect("the only subscriber");
    divan::main();
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

#[divan::bench]
fn diesel_query_alone(bencher: Bencher) {
    let mut conn = diesel_connection(false);
    bencher.bench_local(|| diesel_query(&mut conn));
}

#[divan::bench]
fn diesel_query_instrumented_no_pipeline(bencher: Bencher) {
    let mut conn = diesel_connection(true);
    bencher.bench_local(|| diesel_query(&mut conn));
}

#[divan::bench]
fn diesel_query_with_db_span(bencher: Bencher) {
    let mut conn = diesel_connection(true);
    let provider = discarding_provider();
    mackerel_trace::set_tracer_provider(provider.clone());
    bencher.bench_local(|| diesel_query(&mut conn));
    let _ = provider.shutdown();
    off();
}
