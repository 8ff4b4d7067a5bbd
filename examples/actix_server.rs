//! An actix-web service under `#[mackerel_trace::main]`: every request is a SERVER span named by
//! the route that handled it, with the `#[traced]` functions it calls as children.
//!
//! ```text
//! OTEL_TRACES_EXPORTER=console cargo run --example actix_server
//! ```
//!
//! It listens on 127.0.0.1:3000 (`PORT` to change it), sends itself three requests so the
//! first traces print at once, and serves until Ctrl-C; try `curl localhost:3000/items/7`.
//! Without `OTEL_TRACES_EXPORTER=console` or `MACKEREL_APIKEY` it says how to turn tracing on
//! and serves untraced. On Ctrl-C actix stops, and the guard `#[mackerel_trace::main]` created
//! flushes what is left.

use actix_web::{get, web, App, HttpResponse, HttpServer};
use mackerel_trace::traced;

#[traced(record(item.id = id))]
async fn load_item(id: u64) -> Result<String, String> {
    actix_web::rt::time::sleep(std::time::Duration::from_millis(3)).await;
    match id {
        0 => Err("item 0 does not exist".to_owned()),
        id => Ok(format!("item {id}: a pot of tea")),
    }
}

#[traced]
fn recommendations() -> Vec<&'static str> {
    vec!["sencha", "hojicha"]
}

// `/items/recommend` and `/items/{id}` overlap; the span names the one that answered.
#[get("/items/recommend")]
async fn recommend() -> String {
    recommendations().join(", ")
}

#[get("/items/{id}")]
async fn item(id: web::Path<u64>) -> HttpResponse {
    match load_item(id.into_inner()).await {
        Ok(item) => HttpResponse::Ok().body(item),
        Err(_) => HttpResponse::NotFound().finish(),
    }
}

// `#[mackerel_trace::main]` goes above `#[actix_web::main]`: the guard then outlives the actix
// system, so spans still in flight when it stops are flushed too.
#[mackerel_trace::main(service_name = "items", environment = "development")]
#[actix_web::main]
async fn main() -> std::io::Result<()> {
    let port: u16 = std::env::var("PORT")
        .ok()
        .and_then(|port| port.parse().ok())
        .unwrap_or(3000);
    let server = HttpServer::new(|| {
        App::new()
            .service(recommend)
            .service(item)
            // Last, so that it is the outermost middleware.
            .wrap(mackerel_trace::actix::Middleware::new())
    })
    .bind(("127.0.0.1", port))?;
    let base = format!("http://{}", server.addrs()[0]);
    eprintln!("listening on {base}; try `curl {base}/items/7`, Ctrl-C to stop");

    actix_web::rt::spawn(async move {
        for path in ["/items/7", "/items/recommend", "/items/0"] {
            let _ = reqwest::get(format!("{base}{path}")).await;
        }
    });
    server.run().await
}
