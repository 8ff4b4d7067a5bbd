//! actix-web 4: SERVER spans with the stable HTTP semantic conventions, on the mackerel-trace
//! pipeline, continuing the caller's W3C trace context.
//!
//! ```no_run
//! use actix_web::{web, App, HttpServer};
//! use mackerel_trace::actix::Middleware;
//!
//! async fn order(id: web::Path<u64>) -> String {
//!     format!("order {id}")
//! }
//!
//! #[mackerel_trace::main]
//! fn main() -> std::io::Result<()> {
//!     // With actix-web's `macros` feature, `#[actix_web::main] async fn main()` under
//!     // `#[mackerel_trace::main]` does the same.
//!     actix_web::rt::System::new().block_on(async {
//!         HttpServer::new(|| {
//!             App::new()
//!                 .route("/orders/{id}", web::get().to(order))
//!                 .wrap(Middleware::new()) // last: the outermost middleware
//!         })
//!         .bind(("127.0.0.1", 8080))?
//!         .run()
//!         .await
//!     })
//! }
//! ```
//!
//! The route is the pattern of the resource that handled the request (`/orders/{id}`), read
//! after the router has run, so overlapping patterns told apart by guards (`#[get]` and
//! `#[post]` on `/items/recommend` and `/items/{key}`) are named right. A request no resource
//! took (a 404 from the default service) has no route and is listed by its path.
//!
//! Health checks and readiness probes are left untraced with [`Middleware::untraced`].

mod body;
mod middleware;
mod request;

pub use body::TracedBody;
pub use middleware::{Middleware, MiddlewareFuture, MiddlewareService};
