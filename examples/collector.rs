//! Sending to a local OpenTelemetry Collector instead of straight to Mackerel.
//!
//! ```text
//! cargo run --example collector
//! OTEL_EXPORTER_OTLP_ENDPOINT=http://localhost:4318 cargo run --example collector
//! ```
//!
//! With `OTEL_EXPORTER_OTLP_ENDPOINT` set, spans go to that Collector over OTLP/HTTP
//! (`/v1/traces` is added), with no API key: the Collector holds the key and forwards to
//! Mackerel. Without it, this example starts a stand-in receiver on 127.0.0.1 (the one the
//! tests use), sends to it, and prints what arrived, so it runs with nothing installed.

use std::time::Duration;

use mackerel_trace::testing::Receiver;
use mackerel_trace::traced;

#[traced(kind = consumer, record(message.id = id))]
fn handle_message(id: u64) -> u64 {
    std::thread::sleep(Duration::from_millis(2));
    id * 2
}

fn main() -> Result<(), mackerel_trace::Error> {
    let stand_in = match std::env::var("OTEL_EXPORTER_OTLP_ENDPOINT") {
        Ok(endpoint) if !endpoint.trim().is_empty() => {
            eprintln!("sending to the Collector at {endpoint}");
            None
        }
        _ => {
            let receiver = Receiver::start();
            eprintln!(
                "OTEL_EXPORTER_OTLP_ENDPOINT is not set: sending to a stand-in receiver at {}",
                receiver.base_url()
            );
            Some(receiver)
        }
    };

    let mut config = mackerel_trace::Config::new().service_name("collector-example");
    if let Some(receiver) = &stand_in {
        // Code gives the endpoint; the variable, when set, wins over it.
        config = config.endpoint(receiver.endpoint());
    }
    let guard = config.init()?;
    for id in 1..=3 {
        handle_message(id);
    }
    let stats = guard.shutdown();
    eprintln!(
        "exported {} spans, dropped {}",
        stats.exported,
        stats.dropped()
    );

    if let Some(receiver) = stand_in {
        for span in receiver.wait_for_spans(3, Duration::from_secs(5)) {
            eprintln!(
                "received {} (message.id = {:?})",
                span.name(),
                span.int_attr("message.id")
            );
        }
    }
    Ok(())
}
