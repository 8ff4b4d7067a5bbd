//! `LayerBuilder::show_traced_spans(false)`: `#[traced]` futures are not shown to `tracing`, so
//! what carries `tracing::Span::current()` elsewhere carries nothing of them — the trade the
//! option documents (a process of its own: the subscriber is global).

mod support;

use std::time::Duration;

use mackerel_trace::testing::Receiver;
use mackerel_trace::traced;
use tracing_subscriber::layer::SubscriberExt as _;

async fn tracing_current_span_name() -> Option<&'static str> {
    tracing::Span::current().metadata().map(|meta| meta.name())
}

#[traced]
async fn probe(pool: &sqlx::SqlitePool) -> Option<&'static str> {
    sqlx::query("SELECT 1").execute(pool).await.unwrap();
    tracing_current_span_name().await
}

#[test]
fn without_mirrors_a_traced_future_is_invisible_to_tracing_and_sqlite_queries_start_traces() {
    let subscriber = tracing_subscriber::registry().with(
        mackerel_trace::tracing::LayerBuilder::new()
            .show_traced_spans(false)
            .build(),
    );
    tracing::subscriber::set_global_default(subscriber).unwrap();
    let receiver = Receiver::start();
    let guard = support::start(support::config(&receiver.endpoint(), &[]));
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let pool = sqlx::SqlitePool::connect("sqlite::memory:").await.unwrap();
        assert_eq!(probe(&pool).await, None);
        pool.close().await;
    });
    guard.shutdown();
    let spans = receiver.wait_for_spans(2, Duration::from_secs(5));
    let traced = spans.iter().find(|s| s.name() == "probe").unwrap();
    let query = spans
        .iter()
        .find(|s| s.string_attr("db.query.text") == Some("SELECT ?"))
        .expect("the query's DB span");
    assert_eq!(query.parent_span_id(), None, "no mirror, no parent");
    assert_ne!(query.trace_id(), traced.trace_id());
}
