//! actix-web 4 under `mackerel_trace::actix::Middleware`, over real sockets: an `HttpServer`
//! on 127.0.0.1 (one worker, its own actix system and thread) called with reqwest, its spans
//! captured in memory as they end. What Mackerel's HTTP view reads is checked on the spans:
//! kind, name, method, route (the resource that handled the request, with overlapping
//! patterns), status code as an int, error status, parent links, the span current inside the
//! handler, the body's end, panics, the W3C context in, and paths left untraced.
//!
//! `app` is the app, `server` serves it and finds spans; the rest are the tests.

mod app;
mod body;
mod routes;
mod server;
mod spans;
mod untraced;
