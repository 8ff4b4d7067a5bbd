//! Tower layers for HTTP servers and clients: SERVER and CLIENT spans with the stable HTTP
//! semantic conventions, on the mackerel-trace pipeline, with W3C context in and out.
//!
//! ```
//! use mackerel_trace::tower::{ClientLayer, ServerLayer};
//! use tower_layer::Layer as _;
//!
//! # fn wrap<S, C>(service: S, client: C) {
//! let server = ServerLayer::new().layer(service); // hyper, tonic, any tower HTTP service
//! let client = ClientLayer::new().layer(client); // hyper-util's client, any tower HTTP client
//! # }
//! ```
//!
//! With axum (feature `axum`), add the server layer last with `Router::layer`, so that the
//! matched route is known: `Router::new().route(..).layer(ServerLayer::new())`.

mod body;
mod client;
mod server;

pub use body::TracedBody;
pub use client::{ClientFuture, ClientLayer, ClientService};
pub use server::{ServerFuture, ServerLayer, ServerService};
