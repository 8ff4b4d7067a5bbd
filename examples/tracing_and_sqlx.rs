//! A `tracing`-instrumented helper, sqlx queries and `#[traced]` code in one trace.
//!
//! ```text
//! cargo run --example tracing_and_sqlx
//! ```
//!
//! With no key or endpoint set it prints the trace as a tree on stderr: `register` (`#[traced]`)
//! → `users_db` (a `tracing` span) → one CLIENT span per SQL statement with `db.query.text`,
//! and `send_welcome` (`#[tracing::instrument]`) with its event. Set `MACKEREL_APIKEY` and
//! Mackerel's DB view lists the statements.

use mackerel_trace::traced;
use tracing::Instrument as _;
use tracing_subscriber::layer::SubscriberExt as _;
use tracing_subscriber::util::SubscriberInitExt as _;

/// A library function instrumented with `tracing`, as many crates are.
#[tracing::instrument(fields(user.id = %id))]
fn send_welcome(id: i64) {
    tracing::info!(channel = "email", "welcome queued");
}

#[traced(record(user.name = name))]
async fn register(pool: &sqlx::SqlitePool, name: &str) -> Result<i64, sqlx::Error> {
    // The queries are children of whatever span is current where they are issued: here the
    // `tracing` span `users_db` (without it, `register` itself).
    let id = async {
        sqlx::query("CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT NOT NULL)")
            .execute(pool)
            .await?;
        let inserted = sqlx::query("INSERT INTO users (name) VALUES (?)")
            .bind(name)
            .execute(pool)
            .await?;
        Ok::<_, sqlx::Error>(inserted.last_insert_rowid())
    }
    .instrument(tracing::info_span!("users_db"))
    .await?;
    send_welcome(id);
    Ok(id)
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let _guard = mackerel_trace::Config::new()
        .service_name("tracing-and-sqlx")
        .environment("development")
        .fallback_to_console()
        .init()?;
    // The bridge on a subscriber of your own; `db_system_name`, since sqlx's event does not
    // say which database ran the query.
    tracing_subscriber::registry()
        .with(
            mackerel_trace::tracing::LayerBuilder::new()
                .db_system_name("sqlite")
                .build(),
        )
        .init();

    let pool = sqlx::SqlitePool::connect("sqlite::memory:").await?;
    let id = register(&pool, "alice").await?;
    println!("registered user {id}");
    pool.close().await;
    Ok(())
}
