//! What the layer reads from an invocation's event: whether it is an HTTP request (API Gateway
//! REST and HTTP APIs, function URLs, ALB) and what Mackerel's HTTP view needs of it, or which
//! other kind of trigger sent it. Read from the JSON itself, so that any payload type works and
//! no event-types crate is needed.

use std::borrow::Cow;
use std::collections::HashMap;

use serde::de::IgnoredAny;
use serde::Deserialize;

/// `faas.trigger`, and for HTTP events the request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Trigger {
    Http(Box<HttpEvent>),
    /// Messages: SQS, SNS, Kinesis, Kafka, Amazon MQ.
    PubSub,
    /// Data changes: S3, DynamoDB streams.
    Datasource,
    /// An EventBridge schedule.
    Timer,
    Other,
}

impl Trigger {
    /// The value of `faas.trigger`.
    pub(crate) fn name(&self) -> &'static str {
        match self {
            Trigger::Http(_) => "http",
            Trigger::PubSub => "pubsub",
            Trigger::Datasource => "datasource",
            Trigger::Timer => "timer",
            Trigger::Other => "other",
        }
    }
}

/// Which front end turned an HTTP request into the event: it decides where the route is and
/// what a response without `statusCode` means.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum HttpSource {
    /// API Gateway REST API (payload format 1.0).
    ApiGatewayV1,
    /// API Gateway HTTP API (payload format 2.0) and Lambda function URLs.
    ApiGatewayV2,
    /// An Application Load Balancer target group.
    Alb,
}

/// An HTTP request as the event carries it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct HttpEvent {
    pub(crate) source: HttpSource,
    pub(crate) method: http::Method,
    /// The route template that matched (`/orders/{id}`), never a made-up one.
    pub(crate) route: Option<String>,
    pub(crate) path: String,
    pub(crate) scheme: Option<String>,
    pub(crate) host: Option<String>,
    pub(crate) user_agent: Option<String>,
    pub(crate) version: http::Version,
    /// The caller's trace context headers (`traceparent`, `tracestate`, `baggage`).
    pub(crate) propagation: http::HeaderMap,
}

/// Reads the trigger from the event's JSON text; anything unexpected is [`Trigger::Other`].
pub(crate) fn read(json: &str) -> Trigger {
    match serde_json::from_str::<Probe<'_>>(json) {
        Ok(probe) => probe.trigger(),
        Err(_) => Trigger::Other,
    }
}

/// The few fields of an event the layer looks at; every other field is skipped unread.
#[derive(Deserialize)]
struct Probe<'a> {
    #[serde(rename = "routeKey", borrow, default)]
    route_key: Option<Cow<'a, str>>,
    #[serde(rename = "rawPath", borrow, default)]
    raw_path: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    resource: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    path: Option<Cow<'a, str>>,
    #[serde(rename = "httpMethod", borrow, default)]
    http_method: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    headers: Option<HashMap<Cow<'a, str>, Cow<'a, str>>>,
    #[serde(rename = "multiValueHeaders", borrow, default)]
    multi_value_headers: Option<HashMap<Cow<'a, str>, Vec<Cow<'a, str>>>>,
    #[serde(rename = "requestContext", borrow, default)]
    request_context: Option<RequestContext<'a>>,
    #[serde(rename = "Records", borrow, default)]
    records: Option<Vec<Record<'a>>>,
    #[serde(borrow, default)]
    source: Option<Cow<'a, str>>,
    #[serde(rename = "detail-type", borrow, default)]
    detail_type: Option<Cow<'a, str>>,
}

#[derive(Deserialize)]
struct RequestContext<'a> {
    /// Payload format 2.0 only.
    #[serde(borrow, default)]
    http: Option<ContextHttp<'a>>,
    /// ALB only.
    #[serde(default)]
    elb: Option<IgnoredAny>,
    #[serde(rename = "domainName", borrow, default)]
    domain_name: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    protocol: Option<Cow<'a, str>>,
    #[serde(rename = "resourcePath", borrow, default)]
    resource_path: Option<Cow<'a, str>>,
}

#[derive(Deserialize)]
struct ContextHttp<'a> {
    #[serde(borrow, default)]
    method: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    path: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    protocol: Option<Cow<'a, str>>,
    #[serde(rename = "userAgent", borrow, default)]
    user_agent: Option<Cow<'a, str>>,
}

#[derive(Deserialize)]
struct Record<'a> {
    #[serde(rename = "eventSource", borrow, default)]
    event_source: Option<Cow<'a, str>>,
    /// SNS spells it this way.
    #[serde(rename = "EventSource", borrow, default)]
    event_source_sns: Option<Cow<'a, str>>,
}

impl Probe<'_> {
    fn trigger(&self) -> Trigger {
        if let Some(http) = self.http() {
            return Trigger::Http(Box::new(http));
        }
        let record = self.records.as_ref().and_then(|records| records.first());
        let source =
            record.and_then(|r| r.event_source.as_deref().or(r.event_source_sns.as_deref()));
        match source {
            Some("aws:sqs" | "aws:sns" | "aws:kinesis" | "aws:kafka" | "aws:mq" | "aws:rmq") => {
                return Trigger::PubSub
            }
            Some("aws:s3" | "aws:dynamodb") => return Trigger::Datasource,
            _ => {}
        }
        if self.source.as_deref() == Some("aws.events")
            && self.detail_type.as_deref() == Some("Scheduled Event")
        {
            return Trigger::Timer;
        }
        Trigger::Other
    }

    fn http(&self) -> Option<HttpEvent> {
        let context = self.request_context.as_ref();
        if let Some(http) = context.and_then(|c| c.http.as_ref()) {
            return self.v2(http, context);
        }
        let method = self.http_method.as_deref()?;
        let path = self.path.as_deref()?;
        let alb = context.is_some_and(|c| c.elb.is_some());
        let (source, route, scheme, host) = if alb {
            let scheme = self.header("x-forwarded-proto").map(str::to_owned);
            (HttpSource::Alb, None, scheme, self.header("host"))
        } else {
            // `resource` is the route template the REST API matched (`/orders/{id}`).
            let route = self
                .resource
                .as_deref()
                .or_else(|| context.and_then(|c| c.resource_path.as_deref()))?;
            let host = context
                .and_then(|c| c.domain_name.as_deref())
                .or_else(|| self.header("host"));
            let route = Some(route.to_owned());
            (
                HttpSource::ApiGatewayV1,
                route,
                Some("https".to_owned()),
                host,
            )
        };
        Some(HttpEvent {
            source,
            method: http::Method::from_bytes(method.as_bytes()).ok()?,
            route,
            path: path.to_owned(),
            scheme,
            host: host.map(str::to_owned),
            user_agent: self.header("user-agent").map(str::to_owned),
            version: version(context.and_then(|c| c.protocol.as_deref())),
            propagation: self.propagation(),
        })
    }

    /// Payload format 2.0: the method and path under `requestContext.http`, the route in
    /// `routeKey` after the method (`GET /orders/{id}`; `$default` matched no route).
    fn v2(
        &self,
        http: &ContextHttp<'_>,
        context: Option<&RequestContext<'_>>,
    ) -> Option<HttpEvent> {
        let method = http.method.as_deref()?;
        let path = self.raw_path.as_deref().or(http.path.as_deref())?;
        let route = self
            .route_key
            .as_deref()
            .and_then(|key| key.split_once(' '))
            .map(|(_, route)| route.to_owned());
        let host = context
            .and_then(|c| c.domain_name.as_deref())
            .or_else(|| self.header("host"));
        Some(HttpEvent {
            source: HttpSource::ApiGatewayV2,
            method: http::Method::from_bytes(method.as_bytes()).ok()?,
            route,
            path: path.to_owned(),
            scheme: Some("https".to_owned()),
            host: host.map(str::to_owned),
            user_agent: http
                .user_agent
                .as_deref()
                .or_else(|| self.header("user-agent"))
                .map(str::to_owned),
            version: version(http.protocol.as_deref()),
            propagation: self.propagation(),
        })
    }

    /// A request header, whatever the case of its name: `headers`, then the first value in
    /// `multiValueHeaders` (which ALB and REST APIs may send instead).
    fn header(&self, name: &str) -> Option<&str> {
        let single = self.headers.as_ref().and_then(|headers| {
            headers
                .iter()
                .find(|(key, _)| key.eq_ignore_ascii_case(name))
                .map(|(_, value)| value.as_ref())
        });
        single.or_else(|| {
            self.multi_value_headers.as_ref().and_then(|headers| {
                headers
                    .iter()
                    .find(|(key, _)| key.eq_ignore_ascii_case(name))
                    .and_then(|(_, values)| values.first())
                    .map(AsRef::as_ref)
            })
        })
    }

    fn propagation(&self) -> http::HeaderMap {
        let mut headers = http::HeaderMap::new();
        for name in ["traceparent", "tracestate", "baggage"] {
            if let Some(value) = self
                .header(name)
                .and_then(|v| http::HeaderValue::from_str(v).ok())
            {
                headers.insert(name, value);
            }
        }
        headers
    }
}

/// The protocol the event names (`HTTP/1.1`, `HTTP/2.0`). ALB events name none: an ALB speaks
/// HTTP/1.1 to its Lambda targets.
fn version(protocol: Option<&str>) -> http::Version {
    match protocol.map(str::trim) {
        Some("HTTP/1.0") => http::Version::HTTP_10,
        Some("HTTP/2" | "HTTP/2.0") => http::Version::HTTP_2,
        Some("HTTP/3" | "HTTP/3.0") => http::Version::HTTP_3,
        _ => http::Version::HTTP_11,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn http(json: &str) -> HttpEvent {
        match read(json) {
            Trigger::Http(event) => *event,
            other => panic!("not an HTTP event: {other:?}"),
        }
    }

    #[test]
    fn api_gateway_v2_route_comes_from_the_route_key() {
        let event = http(
            r#"{"version":"2.0","routeKey":"GET /orders/{id}","rawPath":"/prod/orders/7",
            "headers":{"host":"abc.execute-api.aws","user-agent":"curl/8",
              "traceparent":"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-03"},
            "requestContext":{"domainName":"api.example.com","http":{"method":"GET",
              "path":"/prod/orders/7","protocol":"HTTP/1.1","userAgent":"curl/8"}},
            "body":"{\"big\":true}","isBase64Encoded":false}"#,
        );
        assert_eq!(event.source, HttpSource::ApiGatewayV2);
        assert_eq!(event.method, http::Method::GET);
        assert_eq!(event.route.as_deref(), Some("/orders/{id}"));
        assert_eq!(event.path, "/prod/orders/7");
        assert_eq!(event.host.as_deref(), Some("api.example.com"));
        assert_eq!(event.user_agent.as_deref(), Some("curl/8"));
        assert_eq!(
            event.propagation["traceparent"],
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-03"
        );
    }

    #[test]
    fn default_route_and_function_urls_have_no_route() {
        let event = http(
            r#"{"version":"2.0","routeKey":"$default","rawPath":"/anything",
            "requestContext":{"http":{"method":"POST","path":"/anything"}}}"#,
        );
        assert_eq!(event.route, None);
        assert_eq!(event.method, http::Method::POST);
    }

    #[test]
    fn api_gateway_v1_route_is_the_resource_and_headers_match_any_case() {
        let event = http(
            r#"{"resource":"/users/{id}","path":"/users/3","httpMethod":"DELETE",
            "headers":{"Host":"h.example","TraceParent":"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"},
            "multiValueHeaders":{"Host":["h.example"]},
            "requestContext":{"resourcePath":"/users/{id}","protocol":"HTTP/2.0","stage":"prod"}}"#,
        );
        assert_eq!(event.source, HttpSource::ApiGatewayV1);
        assert_eq!(event.route.as_deref(), Some("/users/{id}"));
        assert_eq!(event.host.as_deref(), Some("h.example"));
        assert_eq!(event.version, http::Version::HTTP_2);
        assert!(event.propagation.contains_key("traceparent"));
    }

    #[test]
    fn alb_events_have_a_path_but_no_route() {
        let event = http(
            r#"{"requestContext":{"elb":{"targetGroupArn":"arn:aws:elasticloadbalancing:..."}},
            "httpMethod":"GET","path":"/health","queryStringParameters":{},
            "multiValueHeaders":{"x-forwarded-proto":["http"],"host":["lb.example"]}}"#,
        );
        assert_eq!(event.source, HttpSource::Alb);
        assert_eq!(event.route, None);
        assert_eq!(event.path, "/health");
        assert_eq!(event.scheme.as_deref(), Some("http"));
        assert_eq!(event.host.as_deref(), Some("lb.example"));
    }

    #[test]
    fn other_triggers_are_read_from_records_and_schedules() {
        let sqs = r#"{"Records":[{"messageId":"1","eventSource":"aws:sqs","body":"x"}]}"#;
        assert_eq!(read(sqs), Trigger::PubSub);
        let sns = r#"{"Records":[{"EventSource":"aws:sns","Sns":{}}]}"#;
        assert_eq!(read(sns), Trigger::PubSub);
        let s3 = r#"{"Records":[{"eventSource":"aws:s3","s3":{}}]}"#;
        assert_eq!(read(s3), Trigger::Datasource);
        let schedule = r#"{"source":"aws.events","detail-type":"Scheduled Event","detail":{}}"#;
        assert_eq!(read(schedule), Trigger::Timer);
        assert_eq!(read(r#"{"name":"x"}"#), Trigger::Other);
        assert_eq!(read("[1,2]"), Trigger::Other);
        assert_eq!(read("\"text\""), Trigger::Other);
        // A field of an unexpected type is not an HTTP event, never an error.
        assert_eq!(read(r#"{"httpMethod":5,"path":"/"}"#), Trigger::Other);
    }

    #[test]
    fn a_method_that_is_not_a_token_is_not_an_http_event() {
        assert_eq!(
            read(r#"{"httpMethod":"G ET","path":"/","resource":"/"}"#),
            Trigger::Other
        );
    }
}
