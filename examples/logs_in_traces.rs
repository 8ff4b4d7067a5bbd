//! `tracing::info!` and friends as log records linked to their traces (feature `logs`).
//!
//! ```text
//! cargo run --example logs_in_traces
//! ```
//!
//! With no key or endpoint set it prints each trace as a tree on stderr with every record
//! under the span it was written in (`» INFO …`), and a record written outside any span on a
//! line of its own. Set `MACKEREL_APIKEY` and the spans go to Mackerel's trace view and the
//! records to its logs, where a trace opens the records written while it ran and a record opens
//! its trace; the records' fields (`order.id`, `attempt`) are what Mackerel's log search
//! filters on.

use std::time::Duration;

use mackerel_trace::traced;
use tracing_subscriber::layer::SubscriberExt as _;
use tracing_subscriber::util::SubscriberInitExt as _;

#[derive(Debug)]
struct Declined;

impl std::fmt::Display for Declined {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("card declined")
    }
}

impl std::error::Error for Declined {}

#[traced(kind = server, record(order.id = order_id))]
async fn checkout(order_id: u64, card: &str) -> Result<(), Declined> {
    tracing::info!(order.id = order_id, items = 2, "checking out");
    charge(card).await?;
    tracing::info!(order.id = order_id, "order placed");
    Ok(())
}

#[traced(kind = client)]
async fn charge(card: &str) -> Result<(), Declined> {
    for attempt in 1..=2 {
        tokio::time::sleep(Duration::from_millis(3)).await;
        if card != "expired" {
            return Ok(());
        }
        tracing::warn!(attempt, "the card gateway said no; retrying");
    }
    tracing::error!(reason = %Declined, "giving up");
    Err(Declined)
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let _guard = mackerel_trace::Config::new()
        .service_name("logs-in-traces")
        .environment("development")
        .fallback_to_console()
        .init()?;
    // The same layer carries `tracing` spans and events into the traces and, with feature
    // `logs`, the events as log records (its own filter: `MACKEREL_TRACE_LOGS`, default info).
    tracing_subscriber::registry()
        .with(mackerel_trace::tracing::layer())
        .init();

    tracing::info!(version = env!("CARGO_PKG_VERSION"), "shop starting");
    checkout(1001, "visa").await?;
    let _ = checkout(1002, "expired").await;
    Ok(())
}
