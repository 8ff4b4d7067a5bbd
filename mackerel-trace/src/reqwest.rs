//! reqwest 0.13 calls as CLIENT spans: `send_traced()` instead of `send()`, reqwest's own types
//! everywhere else.
//!
//! ```no_run
//! use mackerel_trace::reqwest::RequestBuilderExt as _;
//!
//! # async fn stock(client: reqwest::Client) -> reqwest::Result<String> {
//! let stock = client
//!     .get("http://inventory:8080/stock/42")
//!     .send_traced()
//!     .await?
//!     .text()
//!     .await?;
//! # Ok(stock)
//! # }
//! ```

use std::future::Future;

use opentelemetry::context::FutureExt as _;
use opentelemetry::trace::TraceContextExt as _;

use crate::http_span::{self, ClientRequest};
use crate::{exception, propagation};

/// `send_traced()` for `reqwest::RequestBuilder`.
pub trait RequestBuilderExt {
    /// Sends the request as [`send`](reqwest::RequestBuilder::send) does, inside a CLIENT
    /// span that is a child of the current span, with the span's context in `traceparent`
    /// (and `baggage`).
    ///
    /// The span is named `{method}` and records `http.request.method`, `server.address`,
    /// `server.port`, `url.full` (without userinfo, query values replaced by `REDACTED`) and
    /// `http.response.status_code`. A status of 400 or more sets status `Error` and
    /// `error.type` = the code; a transport error sets status `Error`, `error.type` and an
    /// `exception` event. The span ends when the response head arrives.
    ///
    /// See the [module example](self).
    fn send_traced(self) -> impl Future<Output = reqwest::Result<reqwest::Response>> + Send;
}

impl RequestBuilderExt for reqwest::RequestBuilder {
    fn send_traced(self) -> impl Future<Output = reqwest::Result<reqwest::Response>> + Send {
        let (client, request) = self.build_split();
        let prepared = request.map(|mut request| {
            let url = request.url();
            let span = http_span::start_client(&ClientRequest {
                method: request.method(),
                scheme: url.scheme(),
                host: url.host_str().unwrap_or_default(),
                port: url.port(),
                path: url.path(),
                query: url.query(),
            });
            if let Some(cx) = &span {
                propagation::inject_context(cx, request.headers_mut());
            }
            (request, span)
        });
        async move {
            let (request, span) = prepared?;
            let Some(cx) = span else {
                return client.execute(request).await;
            };
            let result = client.execute(request).with_context(cx.clone()).await;
            match &result {
                Ok(response) => http_span::client_status(&cx, response.status()),
                Err(error) => exception::record_error_chain(
                    cx.span(),
                    std::any::type_name::<reqwest::Error>(),
                    error,
                ),
            }
            cx.span().end();
            result
        }
    }
}
