//! The SERVER span of one invocation: named by the function, or by method and route for HTTP
//! events (then with the HTTP attributes of `http_span`), with the FaaS attributes.

use std::sync::atomic::{AtomicBool, Ordering};

use opentelemetry::trace::{SpanKind, TraceContextExt as _};
use opentelemetry::{Context, KeyValue};
use serde::Serialize;

use super::event::{HttpEvent, HttpSource, Trigger};
use crate::http_span::{self, ServerRequest};
use crate::{propagation, tracer};

/// Whether no invocation has started in this process yet.
static COLD: AtomicBool = AtomicBool::new(true);

/// Starts the span of the invocation `context` describes, as the current span of the returned
/// context; `None` when no pipeline is installed.
pub(super) fn start(context: &lambda_runtime::Context, trigger: &Trigger) -> Option<Context> {
    // Counted even with tracing off: the first traced invocation is not a cold start then.
    let coldstart = COLD.swap(false, Ordering::Relaxed);
    let tracer = tracer::tracer()?;
    let mut attributes = vec![
        KeyValue::new("faas.trigger", trigger.name()),
        KeyValue::new("faas.invocation_id", context.request_id.clone()),
        KeyValue::new("faas.coldstart", coldstart),
    ];
    let arn = context.invoked_function_arn.as_str();
    if let Some(account) = account_id(arn) {
        attributes.push(KeyValue::new("aws.lambda.invoked_arn", arn.to_owned()));
        attributes.push(KeyValue::new("cloud.account.id", account.to_owned()));
    }
    let cx = match trigger {
        Trigger::Http(event) => {
            let cx = start_http(event)?;
            cx.span().set_attributes(attributes);
            cx
        }
        _ => {
            let parent = Context::current();
            let name = match context.env_config.function_name.as_str() {
                "" => "invocation".to_owned(),
                name => name.to_owned(),
            };
            tracer::start_span(tracer, name, SpanKind::Server, attributes, None, &parent)
        }
    };
    Some(cx)
}

/// By the rules of every server span: `{method} {route}`, a child of the caller's
/// `traceparent`.
fn start_http(event: &HttpEvent) -> Option<Context> {
    let request = ServerRequest {
        method: &event.method,
        route: event.route.as_deref(),
        path: &event.path,
        scheme: event.scheme.as_deref(),
        host: event.host.as_deref(),
        user_agent: event.user_agent.as_deref(),
        version: event.version,
    };
    let parent = propagation::extract(&event.propagation);
    http_span::start_server(&request, &parent)
}

/// The account in an ARN such as `arn:aws:lambda:ap-northeast-1:123456789012:function:name`.
fn account_id(arn: &str) -> Option<&str> {
    let mut parts = arn.split(':');
    if parts.next() != Some("arn") {
        return None;
    }
    let account = parts.nth(3)?;
    (account.len() == 12 && account.bytes().all(|b| b.is_ascii_digit())).then_some(account)
}

/// Records the HTTP status the handler's response gives the front end: a 5xx is the
/// function's error. A response without `statusCode` is a 200 to an HTTP API (payload 2.0
/// takes any JSON as the body), and no status to the others (they answer 502 themselves).
pub(super) fn record_response<R: Serialize>(cx: &Context, source: HttpSource, response: &R) {
    let Ok(json) = serde_json::to_value(response) else {
        return;
    };
    let status = match json.get("statusCode") {
        Some(serde_json::Value::Number(code)) => code.as_u64(),
        Some(serde_json::Value::String(code)) => code.trim().parse().ok(),
        Some(_) => None,
        None if source == HttpSource::ApiGatewayV2 => Some(200),
        None => None,
    };
    let status = status
        .and_then(|code| u16::try_from(code).ok())
        .and_then(|code| http::StatusCode::from_u16(code).ok());
    if let Some(status) = status {
        http_span::server_status(cx, status);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_account_is_read_from_a_function_arn_only() {
        assert_eq!(
            account_id("arn:aws:lambda:ap-northeast-1:123456789012:function:orders"),
            Some("123456789012")
        );
        assert_eq!(
            account_id("arn:aws:lambda:us-east-1:123456789012:function:orders:live"),
            Some("123456789012")
        );
        assert_eq!(
            account_id("No header lambda-runtime-invoked-function-arn found."),
            None
        );
        assert_eq!(account_id("arn:aws:lambda:us-east-1:abc:function:x"), None);
        assert_eq!(account_id(""), None);
    }
}
