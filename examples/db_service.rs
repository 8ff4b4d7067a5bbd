//! A web request, a `#[traced]` function and its database queries as one trace: what
//! Mackerel's HTTP view, DB view and trace view show for a service backed by a database.
//!
//! ```text
//! cargo run --example db_service
//! ```
//!
//! No database server and no account needed: the data lives in SQLite in memory, and with no
//! key or endpoint set the trace prints as a tree on stderr — `POST /orders/{sku}` (SERVER) →
//! `place_order` (`#[traced]`) → one CLIENT span per statement (`SELECT stock`, `UPDATE stock`,
//! `INSERT orders`) with `db.query.text`: the SQL with bound values left out and literals as `?`.
//! Nothing wraps the queries: sqlx's SQLite worker thread carries the `#[traced]` span itself.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::post;
use axum::Router;
use mackerel_trace::tower::ServerLayer;
use mackerel_trace::traced;
use sqlx::SqlitePool;
use tracing_subscriber::layer::SubscriberExt as _;
use tracing_subscriber::util::SubscriberInitExt as _;

#[derive(Debug)]
enum OrderError {
    OutOfStock,
    Db(sqlx::Error),
}

impl std::fmt::Display for OrderError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            OrderError::OutOfStock => f.write_str("out of stock"),
            OrderError::Db(error) => write!(f, "database: {error}"),
        }
    }
}

impl std::error::Error for OrderError {}

impl From<sqlx::Error> for OrderError {
    fn from(error: sqlx::Error) -> Self {
        OrderError::Db(error)
    }
}

/// Takes one item off the shelf and records the order; `Err` marks the span as failed.
#[traced(record(sku, customer))]
async fn place_order(pool: &SqlitePool, sku: &str, customer: &str) -> Result<i64, OrderError> {
    let (left,): (i64,) = sqlx::query_as("SELECT count FROM stock WHERE sku = ?")
        .bind(sku)
        .fetch_one(pool)
        .await?;
    if left == 0 {
        return Err(OrderError::OutOfStock);
    }
    sqlx::query("UPDATE stock SET count = count - 1 WHERE sku = ?")
        .bind(sku)
        .execute(pool)
        .await?;
    let order = sqlx::query("INSERT INTO orders (sku, customer, status) VALUES (?, ?, 'placed')")
        .bind(sku)
        .bind(customer)
        .execute(pool)
        .await?;
    Ok(order.last_insert_rowid())
}

async fn order(
    State(pool): State<SqlitePool>,
    Path(sku): Path<String>,
) -> Result<String, StatusCode> {
    match place_order(&pool, &sku, "customer-7").await {
        Ok(id) => Ok(format!("order {id} placed")),
        Err(OrderError::OutOfStock) => Err(StatusCode::CONFLICT),
        Err(OrderError::Db(_)) => Err(StatusCode::INTERNAL_SERVER_ERROR),
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let _guard = mackerel_trace::Config::new()
        .service_name("db-service")
        .environment("development")
        .fallback_to_console()
        .init()?;
    // sqlx reports its queries through `tracing`: the bridge turns them into DB spans.
    tracing_subscriber::registry()
        .with(mackerel_trace::tracing::layer())
        .init();

    let pool = SqlitePool::connect("sqlite::memory:").await?;
    sqlx::raw_sql(
        "CREATE TABLE stock (sku TEXT PRIMARY KEY, count INTEGER NOT NULL);
         CREATE TABLE orders (id INTEGER PRIMARY KEY, sku TEXT, customer TEXT, status TEXT);
         INSERT INTO stock VALUES ('tea', 3);",
    )
    .execute(&pool)
    .await?;

    let app = Router::new()
        .route("/orders/{sku}", post(order))
        .with_state(pool.clone())
        .layer(ServerLayer::new());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let url = format!("http://{}/orders/tea", listener.local_addr()?);
    tokio::spawn(async move { axum::serve(listener, app).await });

    let answer = reqwest::Client::new()
        .post(url)
        .send()
        .await?
        .text()
        .await?;
    println!("{answer}");
    pool.close().await;
    Ok(())
}
