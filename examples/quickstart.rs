//! The five-minute tour: `cargo run` at the repository root.
//!
//! With no `MACKEREL_APIKEY` set it prints the trace as a tree on stderr. Set the key (or
//! `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT=http://localhost:4318/v1/traces` for a local
//! Collector) and the same run sends the spans there.

use std::fmt;
use std::time::Duration;

use mackerel_trace::traced;

#[derive(Debug)]
struct OutOfStock {
    sku: String,
}

impl fmt::Display for OutOfStock {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} is out of stock", self.sku)
    }
}

impl std::error::Error for OutOfStock {}

#[traced(kind = server, record(order.id = order_id, order.items = items.len()))]
fn place_order(order_id: u64, items: &[&str]) -> Result<u64, OutOfStock> {
    let mut total = 0;
    for sku in items {
        total += price(sku)?;
    }
    charge(order_id, total);
    Ok(total)
}

#[traced(record(sku))]
fn price(sku: &str) -> Result<u64, OutOfStock> {
    std::thread::sleep(Duration::from_millis(2));
    match sku {
        "tea" => Ok(450),
        "cake" => Ok(600),
        _ => Err(OutOfStock {
            sku: sku.to_owned(),
        }),
    }
}

#[traced(kind = client, record(order.id = order_id, amount))]
fn charge(order_id: u64, amount: u64) -> u64 {
    std::thread::sleep(Duration::from_millis(5));
    order_id ^ amount
}

fn main() -> Result<(), mackerel_trace::Error> {
    let _guard = mackerel_trace::Config::new()
        .service_name("quickstart")
        .environment("development")
        .fallback_to_console()
        .init()?;

    let _ = place_order(1001, &["tea", "cake"]);
    let _ = place_order(1002, &["tea", "scones"]);
    Ok(())
}
