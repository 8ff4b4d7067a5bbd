//! One trace across two HTTP services: `shop` (axum) calls `inventory` (axum) with reqwest.
//!
//! ```text
//! cargo run --example two_services
//! ```
//!
//! With no key or endpoint set it prints the trace as a tree on stderr:
//! `GET /checkout/{sku}` (SERVER, shop) → `GET` (CLIENT, reqwest) → `GET /stock/{sku}`
//! (SERVER, inventory) → `reserve` (`#[traced]`), each with method, route and status. Set
//! `MACKEREL_APIKEY` and the same spans go to Mackerel, where the HTTP view lists both
//! routes. Both services run in this one process here, to keep the example self-contained;
//! in production they are two programs, and the `traceparent` header joins them the same way.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::get;
use axum::Router;
use mackerel_trace::reqwest::RequestBuilderExt as _;
use mackerel_trace::tower::ServerLayer;
use mackerel_trace::traced;

#[traced(record(sku))]
fn reserve(sku: &str) -> Result<u32, String> {
    match sku {
        "tea" => Ok(3),
        other => Err(format!("{other} is out of stock")),
    }
}

async fn stock(Path(sku): Path<String>) -> Result<String, StatusCode> {
    reserve(&sku)
        .map(|count| count.to_string())
        .map_err(|_| StatusCode::CONFLICT)
}

async fn checkout(
    State(inventory): State<String>,
    Path(sku): Path<String>,
) -> Result<String, StatusCode> {
    let response = reqwest::Client::new()
        .get(format!("{inventory}/stock/{sku}"))
        .send_traced()
        .await
        .map_err(|_| StatusCode::BAD_GATEWAY)?;
    if !response.status().is_success() {
        return Err(StatusCode::BAD_GATEWAY);
    }
    let count = response.text().await.map_err(|_| StatusCode::BAD_GATEWAY)?;
    Ok(format!("{sku}: {count} reserved"))
}

/// Serves `app` on a free port of 127.0.0.1; returns its base URL.
async fn serve(app: Router) -> std::io::Result<String> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let url = format!("http://{}", listener.local_addr()?);
    tokio::spawn(async move { axum::serve(listener, app).await });
    Ok(url)
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let _guard = mackerel_trace::Config::new()
        .service_name("two-services")
        .environment("development")
        .fallback_to_console()
        .init()?;

    // The layer goes last, with `Router::layer`, so that the matched route is known.
    let inventory = serve(
        Router::new()
            .route("/stock/{sku}", get(stock))
            .layer(ServerLayer::new()),
    )
    .await?;
    let shop = serve(
        Router::new()
            .route("/checkout/{sku}", get(checkout))
            .with_state(inventory)
            .layer(ServerLayer::new()),
    )
    .await?;

    // A customer's request (not traced itself: the shop's SERVER span is the root).
    let answer = reqwest::get(format!("{shop}/checkout/tea"))
        .await?
        .text()
        .await?;
    println!("{answer}");
    Ok(())
}
