//! `db_calls <variant> <n>`: n database queries of one variant, for instruction counts of every
//! thread (sqlx's SQLite worker and the export thread included):
//!
//! ```sh
//! for n in 2000 4000; do valgrind --tool=callgrind --callgrind-out-file=db.$n target/release/db_calls sqlx_query_with_db_span $n; done
//! ```
//!
//! Instructions per query = (Ir(2n) − Ir(n)) / n, so setup and one-time costs cancel.

use std::process::ExitCode;

use mackerel_trace_benches::db::{
    diesel_connection, diesel_query, off, pool, query, runtime, traced_query,
};
use mackerel_trace_benches::discarding_provider;
use tracing_subscriber::layer::SubscriberExt as _;

const VARIANTS: &[&str] = &[
    "sqlx_query_alone",
    "sqlx_query_with_db_span",
    "sqlx_query_under_traced",
    "diesel_query_alone",
    "diesel_query_with_db_span",
];

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (Some(variant), Some(Ok(n))) = (args.first(), args.get(1).map(|n| n.parse::<u64>())) else {
        eprintln!("usage: db_calls <{}> <n>", VARIANTS.join("|"));
        return ExitCode::FAILURE;
    };
    let subscriber = tracing_subscriber::registry().with(mackerel_trace::tracing::layer());
    tracing::subscriber::set_global_default(subscriber).expect("the only subscriber");
    let provider = discarding_provider();
    if variant.ends_with("with_db_span") || variant.ends_with("under_traced") {
        mackerel_trace::set_tracer_provider(provider.clone());
    }
    match variant.as_str() {
        "sqlx_query_alone" | "sqlx_query_with_db_span" => {
            let pool = pool();
            for _ in 0..n {
                runtime().block_on(query(&pool));
            }
        }
        "sqlx_query_under_traced" => {
            let pool = pool();
            for _ in 0..n {
                runtime().block_on(traced_query(&pool));
            }
        }
        "diesel_query_alone" | "diesel_query_with_db_span" => {
            let mut conn = diesel_connection(variant != "diesel_query_alone");
            for _ in 0..n {
                diesel_query(&mut conn);
            }
        }
        other => {
            eprintln!("db_calls: no variant {other:?}; one of {VARIANTS:?}");
            return ExitCode::FAILURE;
        }
    }
    // Every span handed to the exporter before the count ends.
    let _ = provider.force_flush();
    let _ = provider.shutdown();
    off();
    ExitCode::SUCCESS
}
