//! A tokio web service under `#[mackerel_trace::main]`: every request is a SERVER span named by
//! its route, with the `#[traced]` functions it calls as children.
//!
//! ```text
//! OTEL_TRACES_EXPORTER=console cargo run --example tokio_server
//! ```
//!
//! It listens on 127.0.0.1:3000 (`PORT` to change it), sends itself two requests so the first
//! traces print at once, and serves until Ctrl-C; try `curl localhost:3000/orders/7`. Without
//! `OTEL_TRACES_EXPORTER=console` or `MACKEREL_APIKEY` it says how to turn tracing on and
//! serves untraced. On Ctrl-C the guard `#[mackerel_trace::main]` created flushes what is left.

use axum::extract::Path;
use axum::http::StatusCode;
use axum::routing::get;
use axum::Router;
use mackerel_trace::tower::ServerLayer;
use mackerel_trace::traced;

#[traced(record(order.id = id))]
async fn load_order(id: u64) -> Result<String, String> {
    tokio::time::sleep(std::time::Duration::from_millis(3)).await;
    match id {
        0 => Err("order 0 does not exist".to_owned()),
        id => Ok(format!("order {id}: 2 × tea")),
    }
}

async fn order(Path(id): Path<u64>) -> Result<String, StatusCode> {
    load_order(id).await.map_err(|_| StatusCode::NOT_FOUND)
}

// `#[mackerel_trace::main]` goes above `#[tokio::main]`: the guard then outlives the runtime,
// so spans still in flight when the runtime stops are flushed too.
#[mackerel_trace::main(service_name = "orders", environment = "development")]
#[tokio::main]
async fn main() -> std::io::Result<()> {
    let port = std::env::var("PORT").unwrap_or_else(|_| "3000".to_owned());
    let listener = tokio::net::TcpListener::bind(format!("127.0.0.1:{port}")).await?;
    let base = format!("http://{}", listener.local_addr()?);
    // `ServerLayer` goes last, with `Router::layer`, so that the matched route is known.
    let app = Router::new()
        .route("/orders/{id}", get(order))
        .layer(ServerLayer::new());
    eprintln!("listening on {base}; try `curl {base}/orders/7`, Ctrl-C to stop");

    tokio::spawn(async move {
        for path in ["/orders/7", "/orders/0"] {
            let _ = reqwest::get(format!("{base}{path}")).await;
        }
    });
    axum::serve(listener, app)
        .with_graceful_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await
}
