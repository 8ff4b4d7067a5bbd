//! gRPC over real sockets: a tonic 0.14 server on 127.0.0.1 behind `ServerLayer`, called by a
//! tonic client behind `ClientLayer` (and by a plain one), exporting to the local OTLP
//! receiver. Checked on the decoded wire spans: names, kinds, parent links across the hop,
//! `rpc.*` and HTTP attributes and their types, the gRPC status from the trailers, from a
//! trailers-only response, `CANCELLED` for calls given up, which codes are errors on which
//! side, and spans that last as long as the response stream.

#[path = "support/grpc.rs"]
mod orders;
mod support;

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use mackerel_trace::testing::{ReceivedSpan, Receiver};
use mackerel_trace::tower::{ClientLayer, ClientService};
use mackerel_trace::traced;
use orders::{OrderRequest, OrdersClient};
use tonic::transport::{Channel, Endpoint};
use tonic::Code;

const SERVER: i32 = 2;
const CLIENT: i32 = 3;
const STATUS_ERROR: i32 = 2;

const SERVER_ERROR_CODES: [&str; 6] = [
    "UNKNOWN",
    "DEADLINE_EXCEEDED",
    "UNIMPLEMENTED",
    "INTERNAL",
    "UNAVAILABLE",
    "DATA_LOSS",
];

fn by_name_and_kind<'a>(spans: &'a [ReceivedSpan], name: &str, kind: i32) -> &'a ReceivedSpan {
    spans
        .iter()
        .find(|s| s.name() == name && s.span.kind == kind)
        .unwrap_or_else(|| {
            let all: Vec<(&str, i32)> = spans.iter().map(|s| (s.name(), s.span.kind)).collect();
            panic!("no span {name:?} of kind {kind} in {all:?}")
        })
}

fn is_error(span: &ReceivedSpan) -> bool {
    span.span.status.as_ref().map_or(0, |s| s.code) == STATUS_ERROR
}

fn duration(span: &ReceivedSpan) -> Duration {
    Duration::from_nanos(span.span.end_time_unix_nano - span.span.start_time_unix_nano)
}

/// Runs `body` (bounded to 30 s) against `shop.Orders` served behind `ServerLayer`, with the
/// pipeline exporting to a receiver; returns what arrived.
fn with_server<F, Fut>(expected_spans: usize, body: F) -> Vec<ReceivedSpan>
where
    F: FnOnce(String) -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    let _one = support::exclusive();
    let receiver = Receiver::start();
    let guard = support::start(support::config(&receiver.endpoint(), &[]));
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let base = orders::serve().await;
        tokio::time::timeout(Duration::from_secs(30), body(base))
            .await
            .expect("the calls finish within 30 s");
    });
    drop(runtime);
    guard.shutdown();
    receiver.wait_for_spans(expected_spans, Duration::from_secs(5))
}

async fn channel(base: &str) -> Channel {
    Endpoint::from_shared(base.to_owned())
        .unwrap()
        .connect()
        .await
        .unwrap()
}

/// A client behind `ClientLayer`, as a tonic user writes it.
async fn traced_client(base: &str) -> OrdersClient<ClientService<Channel>> {
    let service = tower::ServiceBuilder::new()
        .layer(ClientLayer::new())
        .service(channel(base).await);
    OrdersClient::new(service)
}

fn order(id: u64) -> OrderRequest {
    OrderRequest {
        id,
        ..OrderRequest::default()
    }
}

fn watch(count: u32, then: &str) -> OrderRequest {
    OrderRequest {
        id: 100,
        count,
        then: then.to_owned(),
    }
}

#[test]
fn a_unary_call_is_one_trace_client_to_server_to_handler_with_rpc_and_http_attributes() {
    let spans = with_server(4, |base| async move {
        #[traced(root)]
        async fn checkout(base: String) {
            let service = tower::ServiceBuilder::new()
                .layer(ClientLayer::new())
                .service(channel(&base).await);
            // With the origin in the URI, as `tonic-build` clients' `with_origin` sets it.
            let mut client = OrdersClient::with_origin(service, base.parse().unwrap());
            let order = client.get(order(7)).await.unwrap().into_inner();
            assert_eq!(order.item, "item 7");
        }
        checkout(base).await;
    });
    let root = by_name_and_kind(&spans, "checkout", 1);
    let client = by_name_and_kind(&spans, "shop.Orders/Get", CLIENT);
    let server = by_name_and_kind(&spans, "shop.Orders/Get", SERVER);
    let handler = by_name_and_kind(&spans, "load_order", 1);

    // One trace: checkout → CLIENT → SERVER → load_order.
    for span in [client, server, handler] {
        assert_eq!(span.trace_id(), root.trace_id());
    }
    assert_eq!(client.parent_span_id(), Some(root.span_id()));
    assert_eq!(server.parent_span_id(), Some(client.span_id()));
    assert_eq!(handler.parent_span_id(), Some(server.span_id()));
    assert_eq!(handler.int_attr("order.id"), Some(7));

    for span in [client, server] {
        assert_eq!(span.string_attr("rpc.system.name"), Some("grpc"));
        assert_eq!(span.string_attr("rpc.method"), Some("shop.Orders/Get"));
        assert_eq!(span.string_attr("rpc.response.status_code"), Some("OK"));
        assert_eq!(span.string_attr("server.address"), Some("127.0.0.1"));
        assert!(span.int_attr("server.port").is_some_and(|p| p > 0));
        assert!(span.attr("error.type").is_none());
        assert!(!is_error(span), "OK is no error");
    }
    // What Mackerel's HTTP view lists, true of the request.
    assert_eq!(server.string_attr("http.request.method"), Some("POST"));
    assert_eq!(server.string_attr("url.path"), Some("/shop.Orders/Get"));
    assert_eq!(server.string_attr("http.route"), Some("/shop.Orders/Get"));
    assert_eq!(server.int_attr("http.response.status_code"), Some(200));
    assert_eq!(server.string_attr("network.protocol.version"), Some("2"));
    // The client span is an RPC span only.
    assert!(client.attr("http.request.method").is_none());
    assert!(client.attr("url.full").is_none());
}

#[test]
fn a_trailers_only_not_found_is_an_error_for_the_client_and_not_for_the_server() {
    let spans = with_server(2, |base| async move {
        let mut client = traced_client(&base).await;
        let status = client.get(order(0)).await.unwrap_err();
        assert_eq!(status.code(), Code::NotFound);
    });
    let client = by_name_and_kind(&spans, "shop.Orders/Get", CLIENT);
    let server = by_name_and_kind(&spans, "shop.Orders/Get", SERVER);
    assert_eq!(server.parent_span_id(), Some(client.span_id()));

    for span in [client, server] {
        assert_eq!(
            span.string_attr("rpc.response.status_code"),
            Some("NOT_FOUND")
        );
    }
    // The caller's mistake: the server did its job.
    assert!(!is_error(server));
    assert!(server.attr("error.type").is_none());
    assert_eq!(server.int_attr("http.response.status_code"), Some(200));
    // Every code but OK fails the call for the client; the message describes it.
    assert!(is_error(client));
    assert_eq!(client.string_attr("error.type"), Some("NOT_FOUND"));
    assert_eq!(
        client.span.status.as_ref().map(|s| s.message.as_str()),
        Some("no order 0")
    );
    // A client built with `new` sends no authority through the layer.
    assert!(client.attr("server.address").is_none());
}

#[test]
fn a_streamed_response_ends_its_spans_with_the_stream_and_ok_from_the_trailers() {
    let spans = with_server(5, |base| async move {
        let mut client = traced_client(&base).await;
        let mut stream = client.watch(watch(3, "")).await.unwrap().into_inner();
        let mut ids = Vec::new();
        while let Some(order) = stream.message().await.unwrap() {
            ids.push(order.id);
        }
        assert_eq!(ids, [100, 101, 102]);
    });
    // The handler's stream produces its messages as the response is sent: in the server span.
    let server = by_name_and_kind(&spans, "shop.Orders/Watch", SERVER);
    let loads: Vec<&ReceivedSpan> = spans.iter().filter(|s| s.name() == "load_order").collect();
    assert_eq!(loads.len(), 3);
    for load in loads {
        assert_eq!(load.parent_span_id(), Some(server.span_id()));
    }
    for kind in [CLIENT, SERVER] {
        let span = by_name_and_kind(&spans, "shop.Orders/Watch", kind);
        assert_eq!(span.string_attr("rpc.response.status_code"), Some("OK"));
        assert!(!is_error(span));
        // Three messages 150 ms apart: the span ends with the stream, not its head.
        assert!(
            duration(span) >= Duration::from_millis(290),
            "kind {kind}: the span ended before the stream: {:?}",
            duration(span)
        );
    }
}

#[test]
fn an_error_in_the_trailers_after_streamed_messages_is_the_calls_status_on_both_sides() {
    let spans = with_server(4, |base| async move {
        let mut client = traced_client(&base).await;
        let mut stream = client.watch(watch(2, "fail")).await.unwrap().into_inner();
        assert_eq!(stream.message().await.unwrap().map(|o| o.id), Some(100));
        assert_eq!(stream.message().await.unwrap().map(|o| o.id), Some(101));
        let status = stream.message().await.unwrap_err();
        assert_eq!(status.code(), Code::DataLoss);
    });
    let client = by_name_and_kind(&spans, "shop.Orders/Watch", CLIENT);
    let server = by_name_and_kind(&spans, "shop.Orders/Watch", SERVER);
    assert!(SERVER_ERROR_CODES.contains(&"DATA_LOSS"));
    for span in [client, server] {
        // Sent after a 200 and two messages: only the trailers say the call failed.
        assert_eq!(
            span.string_attr("rpc.response.status_code"),
            Some("DATA_LOSS")
        );
        assert_eq!(span.string_attr("error.type"), Some("DATA_LOSS"));
        assert!(is_error(span));
        assert_eq!(
            span.span.status.as_ref().map(|s| s.message.as_str()),
            Some("stock feed broke")
        );
        assert!(duration(span) >= Duration::from_millis(140));
    }
    assert_eq!(server.int_attr("http.response.status_code"), Some(200));
}

#[test]
fn a_call_the_client_cancels_is_cancelled_on_both_sides() {
    let cancelled_at = std::sync::Mutex::new(Vec::new());
    let at = &cancelled_at;
    let spans = with_server(5, |base| async move {
        let mut client = traced_client(&base).await;
        // A stream given up after its first message.
        let mut stream = client.watch(watch(1, "hang")).await.unwrap().into_inner();
        assert_eq!(stream.message().await.unwrap().map(|o| o.id), Some(100));
        drop(stream);
        at.lock().unwrap().push(now_nanos());
        // A unary call given up before its answer.
        let slow = OrderRequest {
            id: 1,
            then: "slow".to_owned(),
            ..OrderRequest::default()
        };
        let timed_out = tokio::time::timeout(Duration::from_millis(200), client.get(slow)).await;
        assert!(timed_out.is_err());
        at.lock().unwrap().push(now_nanos());
        // Time for the server to see the resets before the runtime goes.
        tokio::time::sleep(Duration::from_millis(1500)).await;
    });
    let cancelled_at = cancelled_at.into_inner().unwrap();
    for (method, cancelled_at) in [
        ("shop.Orders/Watch", cancelled_at[0]),
        ("shop.Orders/Get", cancelled_at[1]),
    ] {
        let client = by_name_and_kind(&spans, method, CLIENT);
        let server = by_name_and_kind(&spans, method, SERVER);
        for span in [client, server] {
            assert_eq!(
                span.string_attr("rpc.response.status_code"),
                Some("CANCELLED"),
                "{method}"
            );
        }
        assert!(is_error(client), "{method}");
        assert_eq!(client.string_attr("error.type"), Some("CANCELLED"));
        assert!(!is_error(server), "{method}: the server did not fail");
        assert!(server.attr("error.type").is_none());
        // Ended when the client went away, not when the runtime shut down.
        assert!(
            server.span.end_time_unix_nano < cancelled_at + 1_000_000_000,
            "{method}: the server span ended {} ms after the cancellation",
            (server.span.end_time_unix_nano - cancelled_at) / 1_000_000
        );
    }
}

fn now_nanos() -> u64 {
    u64::try_from(
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_nanos(),
    )
    .unwrap()
}

#[test]
fn a_remote_parent_with_w3c_level_2_flags_is_continued_by_the_server_span() {
    // Flags 03 (sampled + random), as the OpenTelemetry Python SDK sends them.
    let trace_id = "4bf92f3577b34da6a3ce929d0e0e4736";
    let parent_id = "00f067aa0ba902b7";
    let spans = with_server(2, |base| async move {
        // A client without the layer: the context is the one the caller wrote.
        let mut client = OrdersClient::new(channel(&base).await);
        let mut request = tonic::Request::new(order(3));
        request.metadata_mut().insert(
            "traceparent",
            format!("00-{trace_id}-{parent_id}-03").parse().unwrap(),
        );
        client.get(request).await.unwrap();
    });
    let server = by_name_and_kind(&spans, "shop.Orders/Get", SERVER);
    let handler = by_name_and_kind(&spans, "load_order", 1);
    assert_eq!(server.trace_id(), trace_id);
    assert_eq!(server.parent_span_id().as_deref(), Some(parent_id));
    assert_eq!(handler.parent_span_id(), Some(server.span_id()));
}

#[test]
fn a_method_the_server_does_not_have_is_unimplemented_and_an_error_on_both_sides() {
    let spans = with_server(2, |base| async move {
        let service = tower::ServiceBuilder::new()
            .layer(ClientLayer::new())
            .service(channel(&base).await);
        let mut grpc = tonic::client::Grpc::new(service);
        grpc.ready().await.unwrap();
        let status = grpc
            .unary::<_, orders::Order, _>(
                tonic::Request::new(order(1)),
                "/shop.Orders/Cancel".parse().unwrap(),
                tonic_prost::ProstCodec::default(),
            )
            .await
            .unwrap_err();
        assert_eq!(status.code(), Code::Unimplemented);
    });
    assert!(SERVER_ERROR_CODES.contains(&"UNIMPLEMENTED"));
    for kind in [CLIENT, SERVER] {
        let span = by_name_and_kind(&spans, "shop.Orders/Cancel", kind);
        assert_eq!(
            span.string_attr("rpc.response.status_code"),
            Some("UNIMPLEMENTED")
        );
        assert_eq!(span.string_attr("error.type"), Some("UNIMPLEMENTED"));
        assert!(is_error(span));
    }
}
