//! Tower layers for HTTP and gRPC servers and clients: SERVER and CLIENT spans with the stable
//! HTTP semantic conventions (the RPC ones for gRPC calls), on the mackerel-trace pipeline,
//! with W3C context in and out.
//!
//! ```
//! use mackerel_trace::tower::{ClientLayer, ServerLayer};
//! use tower_layer::Layer as _;
//!
//! # fn wrap<S, C>(service: S, client: C) {
//! let server = ServerLayer::new().layer(service); // hyper, tonic, any tower HTTP service
//! let client = ClientLayer::new().layer(client); // hyper-util's client, tonic's channel, …
//! # }
//! ```
//!
//! With axum (feature `axum`), add the server layer last with `Router::layer`, so that the
//! matched route is known: `Router::new().route(..).layer(ServerLayer::new())`.
//!
//! Health checks and readiness probes are left untraced with
//! [`ServerLayer::untraced`]; a server with no route templates of its own (hyper, warp) names
//! its routes with [`ServerLayer::route_with`].
//!
//! # gRPC
//!
//! The same layers trace gRPC calls, recognised by their `content-type`
//! (`application/grpc`, `application/grpc+proto`, …; not gRPC-Web), with nothing specific to
//! tonic or any other gRPC library. With tonic (which is not a dependency of this crate):
//!
//! ```ignore
//! tonic::transport::Server::builder()
//!     .layer(mackerel_trace::tower::ServerLayer::new())
//!     .add_service(GreeterServer::new(greeter))
//!     .serve(address)
//!     .await?;
//!
//! let channel = tonic::transport::Endpoint::from_static("http://[::1]:50051").connect().await?;
//! let service = tower::ServiceBuilder::new()
//!     .layer(mackerel_trace::tower::ClientLayer::new())
//!     .service(channel);
//! let mut client = GreeterClient::new(service);
//! ```
//!
//! A gRPC span follows the RPC semantic conventions of v1.42.0, the version of
//! `opentelemetry-semantic-conventions` 0.33 (the release matching this crate's
//! `opentelemetry`):
//!
//! - named `package.Service/Method`, and recording `rpc.system.name` = `grpc` and
//!   `rpc.method` = `package.Service/Method` (`_OTHER`, with `rpc.method_original`, and the
//!   name `grpc`, for a path of another shape);
//! - `rpc.response.status_code`: the code's name (`OK`, `NOT_FOUND`, …) from the `grpc-status`
//!   of the trailers, or of the headers of a trailers-only response; for a response that is
//!   not HTTP 200 and carries none, the code gRPC maps the HTTP status to; `UNKNOWN` when the
//!   stream ends without a status; `CANCELLED` when the call is dropped before its end (the
//!   client gave up);
//! - on a server, status `Error` and `error.type` = the code's name for `UNKNOWN`,
//!   `DEADLINE_EXCEEDED`, `UNIMPLEMENTED`, `INTERNAL`, `UNAVAILABLE` and `DATA_LOSS` (the
//!   others are the caller's doing); on a client, for every code but `OK`. The description is
//!   the call's `grpc-message`. A transport error sets `error.type` to the error's type and
//!   adds an `exception` event;
//! - the span ends when the response stream ends, so a streaming call is timed whole; a
//!   server span is also current while the response stream is polled, when a streaming
//!   handler produces its messages;
//! - a server span also carries the HTTP attributes true of the request:
//!   `http.request.method` `POST`, `url.path`, `http.route` = `/package.Service/Method`,
//!   `http.response.status_code` as sent (200 for any gRPC status), `server.address` and
//!   `server.port` from the `:authority`, `user_agent.original`, `network.protocol.version`;
//! - a client span records `server.address` and `server.port` when the request's URI has an
//!   authority where the layer sees it. tonic's channel adds the endpoint's authority below
//!   the layer, so a client built with `GreeterClient::new(service)` sends none through it;
//!   `GreeterClient::with_origin(service, uri)` does.
//!
//! Trace context goes out in the request's metadata (`traceparent`, `baggage`) and is read
//! from it on the server, as for HTTP.

mod body;
mod client;
mod grpc;
mod route;
mod server;

pub use body::TracedBody;
pub use client::{ClientFuture, ClientLayer, ClientService};
pub use server::{ServerFuture, ServerLayer, ServerService};
