//! `mackerel_trace::redis::Traced` against a real redis-server, exporting to the local OTLP
//! receiver: commands and pipelines as CLIENT spans under the span that sent them, with their
//! keys and never their values, failures as errors, a dropped command ended as cancelled, and
//! a command inside an axum handler under the SERVER span. Each test starts its own server;
//! without redis-server installed they return early (the harness says so).

mod support;

use std::future::Future;
use std::time::Duration;

use axum::extract::{Path, State};
use axum::routing::get;
use axum::Router;
use mackerel_trace::redis::Traced;
use mackerel_trace::testing::{ReceivedSpan, Receiver};
use mackerel_trace::tower::ServerLayer;
use mackerel_trace::traced;
use redis::aio::{ConnectionLike as _, ConnectionManager, MultiplexedConnection};
use redis::AsyncTypedCommands as _;

const SERVER: i32 = 2;
const CLIENT: i32 = 3;
const STATUS_ERROR: i32 = 2;
/// A value every test stores: it must reach no span.
const SECRET: &str = "s3cret-7f3a9";

type Connection = Traced<MultiplexedConnection>;

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

/// Runs `body` with a traced connection to a fresh redis-server and a pipeline exporting to a
/// receiver; returns the spans that arrived and the server's port. `None`: no redis-server.
fn with_redis<F, Fut>(expected_spans: usize, body: F) -> Option<(Vec<ReceivedSpan>, u16)>
where
    F: FnOnce(Connection) -> Fut,
    Fut: Future<Output = ()>,
{
    let server = support::servers::redis()?;
    let _one = support::exclusive();
    let receiver = Receiver::start();
    let guard = support::start(support::config(&receiver.endpoint(), &[]));
    let runtime = runtime();
    runtime.block_on(async {
        let client = redis::Client::open(server.url.as_str()).unwrap();
        let connection = client.get_multiplexed_async_connection().await.unwrap();
        body(Traced::new(connection).server(client.get_connection_info())).await;
    });
    drop(runtime);
    guard.shutdown();
    let spans = receiver.wait_for_spans(expected_spans, Duration::from_secs(5));
    Some((spans, server.port))
}

fn by_name<'a>(spans: &'a [ReceivedSpan], name: &str) -> &'a ReceivedSpan {
    spans.iter().find(|s| s.name() == name).unwrap_or_else(|| {
        let names: Vec<&str> = spans.iter().map(ReceivedSpan::name).collect();
        panic!("no span {name:?} in {names:?}")
    })
}

fn db_spans(spans: &[ReceivedSpan]) -> Vec<&ReceivedSpan> {
    spans
        .iter()
        .filter(|s| s.string_attr("db.system.name") == Some("redis"))
        .collect()
}

/// The secret in no name, attribute, event or status of any span.
fn assert_secret_nowhere(spans: &[ReceivedSpan]) {
    for span in spans {
        let all = format!("{:?}", span.span);
        assert!(!all.contains(SECRET), "the stored value leaked: {all}");
    }
}

fn assert_inside(child: &ReceivedSpan, parent: &ReceivedSpan) {
    assert_eq!(child.trace_id(), parent.trace_id());
    assert_eq!(child.parent_span_id(), Some(parent.span_id()));
    assert!(child.span.start_time_unix_nano >= parent.span.start_time_unix_nano);
    assert!(child.span.start_time_unix_nano <= child.span.end_time_unix_nano);
    assert!(child.span.end_time_unix_nano <= parent.span.end_time_unix_nano);
}

fn error_message(span: &ReceivedSpan) -> String {
    let event = span.event("exception").expect("an exception event");
    let message = event
        .attributes
        .iter()
        .find(|kv| kv.key == "exception.message")
        .and_then(|kv| kv.value.as_ref()?.value.clone());
    match message {
        Some(mackerel_trace::testing::proto::common::v1::any_value::Value::StringValue(s)) => s,
        other => panic!("exception.message: {other:?}"),
    }
}

#[traced]
async fn store_user(redis: &mut Connection) -> redis::RedisResult<Option<String>> {
    redis.set("user:42", SECRET).await?;
    redis.get("user:42").await
}

#[test]
fn commands_are_client_spans_under_the_traced_fn_with_keys_and_without_values() {
    let Some((spans, port)) = with_redis(3, |mut redis| async move {
        let stored = store_user(&mut redis).await.unwrap();
        assert_eq!(stored.as_deref(), Some(SECRET), "the result is redis's own");
    }) else {
        return;
    };
    let traced = by_name(&spans, "store_user");
    let set = by_name(&spans, "SET");
    let get = by_name(&spans, "GET");
    assert_eq!(db_spans(&spans).len(), 2);
    for (span, text) in [(set, "SET user:42 ?"), (get, "GET user:42")] {
        assert_eq!(span.span.kind, CLIENT);
        assert_inside(span, traced);
        assert_eq!(span.string_attr("db.query.text"), Some(text));
        assert_eq!(span.string_attr("db.system.name"), Some("redis"));
        assert_eq!(span.string_attr("db.operation.name"), Some(span.name()));
        assert_eq!(span.string_attr("db.namespace"), Some("0"));
        assert_eq!(span.string_attr("server.address"), Some("127.0.0.1"));
        assert_eq!(span.int_attr("server.port"), Some(i64::from(port)));
        assert!(span.span.status.as_ref().is_none_or(|s| s.code == 0));
    }
    assert!(set.span.end_time_unix_nano <= get.span.start_time_unix_nano);
    assert_secret_nowhere(&spans);
}

#[traced]
async fn batch(redis: &mut Connection) {
    let (value, count): (String, i64) = redis::pipe()
        .set("a", SECRET)
        .ignore()
        .get("a")
        .incr("n", 1)
        .query_async(redis)
        .await
        .unwrap();
    assert_eq!((value.as_str(), count), (SECRET, 1));
    let () = redis::pipe()
        .atomic()
        .set("x", SECRET)
        .ignore()
        .set("y", SECRET)
        .ignore()
        .query_async(redis)
        .await
        .unwrap();
}

#[test]
fn a_pipeline_is_one_span_with_its_commands_texts() {
    let Some((spans, _)) = with_redis(3, |mut redis| async move { batch(&mut redis).await }) else {
        return;
    };
    let traced = by_name(&spans, "batch");
    assert_eq!(db_spans(&spans).len(), 2, "one span per pipeline");
    let pipeline = by_name(&spans, "PIPELINE");
    assert_inside(pipeline, traced);
    assert_eq!(pipeline.span.kind, CLIENT);
    assert_eq!(
        pipeline.string_attr("db.query.text"),
        Some("SET a ?; GET a; INCRBY n ?")
    );
    assert_eq!(pipeline.int_attr("db.operation.batch.size"), Some(3));
    let multi = by_name(&spans, "MULTI SET");
    assert_inside(multi, traced);
    assert_eq!(multi.string_attr("db.operation.name"), Some("MULTI SET"));
    assert_eq!(multi.string_attr("db.query.text"), Some("SET x ?; SET y ?"));
    assert_eq!(multi.int_attr("db.operation.batch.size"), Some(2));
    assert_secret_nowhere(&spans);
}

#[traced]
async fn misuse(redis: &mut Connection) {
    redis.set("name", SECRET).await.unwrap();
    let incr = redis::cmd("INCR")
        .arg("name")
        .query_async::<i64>(redis)
        .await;
    assert_eq!(incr.unwrap_err().code(), Some("ERR"), "redis's own error");
    let lpush = redis.lpush("name", "x").await;
    assert_eq!(lpush.unwrap_err().code(), Some("WRONGTYPE"));
    let unknown = redis::cmd("NOPE")
        .arg("k")
        .arg(SECRET)
        .query_async::<()>(redis)
        .await;
    assert!(unknown.is_err());
    let pipeline: redis::RedisResult<(i64, i64)> = redis::pipe()
        .incr("counter", 1)
        .cmd("LPUSH")
        .arg("name")
        .arg(SECRET)
        .query_async(redis)
        .await;
    assert!(pipeline.is_err());
}

#[test]
fn error_replies_are_errors_with_their_prefix_and_an_exception_event() {
    let Some((spans, _)) = with_redis(6, |mut redis| async move { misuse(&mut redis).await })
    else {
        return;
    };
    let set = by_name(&spans, "SET");
    assert!(set.span.status.as_ref().is_none_or(|s| s.code == 0));
    assert!(set.event("exception").is_none());

    let incr = by_name(&spans, "INCR");
    assert_eq!(incr.string_attr("db.query.text"), Some("INCR name"));
    assert_eq!(incr.span.status.as_ref().unwrap().code, STATUS_ERROR);
    assert_eq!(incr.string_attr("error.type"), Some("ERR"));
    assert_eq!(incr.string_attr("db.response.status_code"), Some("ERR"));
    assert_eq!(
        error_message(incr),
        "ERR value is not an integer or out of range"
    );

    let lpush = by_name(&spans, "LPUSH");
    assert_eq!(lpush.string_attr("db.query.text"), Some("LPUSH name ?"));
    assert_eq!(lpush.span.status.as_ref().unwrap().code, STATUS_ERROR);
    assert_eq!(lpush.string_attr("error.type"), Some("WRONGTYPE"));
    assert!(error_message(lpush).starts_with("WRONGTYPE Operation against a key"));

    let unknown = by_name(&spans, "NOPE");
    assert_eq!(unknown.string_attr("db.query.text"), Some("NOPE k ?"));
    assert_eq!(unknown.string_attr("error.type"), Some("ERR"));
    assert!(error_message(unknown).starts_with("ERR unknown command"));

    let pipeline = by_name(&spans, "PIPELINE");
    assert_eq!(pipeline.span.status.as_ref().unwrap().code, STATUS_ERROR);
    assert_eq!(pipeline.string_attr("error.type"), Some("WRONGTYPE"));
    assert!(
        error_message(pipeline).starts_with("LPUSH (command 2 of 2): WRONGTYPE"),
        "{}",
        error_message(pipeline)
    );
    assert_secret_nowhere(&spans);
}

#[traced]
async fn wait_briefly(redis: &mut Connection) {
    let popped = tokio::time::timeout(Duration::from_millis(200), redis.blpop("empty", 5.0)).await;
    assert!(
        popped.is_err(),
        "the wait timed out and dropped the command"
    );
}

#[test]
fn a_command_dropped_before_its_reply_ends_its_span_as_cancelled() {
    let Some((spans, _)) = with_redis(2, |mut redis| async move {
        wait_briefly(&mut redis).await;
    }) else {
        return;
    };
    let traced = by_name(&spans, "wait_briefly");
    let blpop = by_name(&spans, "BLPOP");
    assert_inside(blpop, traced);
    assert_eq!(blpop.string_attr("db.query.text"), Some("BLPOP empty ?"));
    assert!(blpop.event("cancelled").is_some());
    assert!(blpop.span.status.as_ref().is_none_or(|s| s.code == 0));
    let waited = blpop.span.end_time_unix_nano - blpop.span.start_time_unix_nano;
    assert!(
        (150_000_000..2_000_000_000).contains(&waited),
        "{waited} ns"
    );
}

async fn user(State(mut redis): State<Traced<ConnectionManager>>, Path(id): Path<u64>) -> String {
    redis
        .get(format!("user:{id}"))
        .await
        .unwrap()
        .unwrap_or_default()
}

#[test]
fn a_command_in_an_axum_handler_is_under_the_server_span() {
    let Some(server) = support::servers::redis() else {
        return;
    };
    let _one = support::exclusive();
    let receiver = Receiver::start();
    let guard = support::start(support::config(&receiver.endpoint(), &[]));
    let runtime = runtime();
    runtime.block_on(async {
        let client = redis::Client::open(server.url.as_str()).unwrap();
        let manager = client.get_connection_manager().await.unwrap();
        let mut redis = Traced::new(manager).server(client.get_connection_info());
        redis.set("user:7", "alice").await.unwrap();
        let app = Router::new()
            .route("/users/{id}", get(user))
            .with_state(redis)
            .layer(ServerLayer::new());
        let base = support::serve(app).await;
        assert_eq!(support::get_text(&format!("{base}/users/7")).await, "alice");
    });
    drop(runtime);
    guard.shutdown();
    let spans = receiver.wait_for_spans(3, Duration::from_secs(5));

    let http = by_name(&spans, "GET /users/{id}");
    assert_eq!(http.span.kind, SERVER);
    let get = spans
        .iter()
        .find(|s| s.string_attr("db.query.text") == Some("GET user:7"))
        .expect("the handler's GET");
    assert_eq!(get.span.kind, CLIENT);
    assert_eq!(get.trace_id(), http.trace_id());
    // A descendant of the SERVER span: follow the parents up.
    let mut ancestor = get.parent_span_id();
    while let Some(id) = ancestor.clone().filter(|id| *id != http.span_id()) {
        ancestor = spans
            .iter()
            .find(|s| s.span_id() == id)
            .and_then(ReceivedSpan::parent_span_id);
    }
    assert_eq!(ancestor, Some(http.span_id()));
    // The SET before the app served is a root of its own.
    let set = by_name(&spans, "SET");
    assert_ne!(set.trace_id(), http.trace_id());
}

#[test]
fn without_a_pipeline_commands_pass_through_unchanged() {
    let Some(server) = support::servers::redis() else {
        return;
    };
    let _one = support::exclusive();
    runtime().block_on(async {
        let client = redis::Client::open(server.url.as_str()).unwrap();
        let connection = client.get_multiplexed_async_connection().await.unwrap();
        let mut redis = Traced::new(connection);
        assert_eq!(
            store_user(&mut redis).await.unwrap().as_deref(),
            Some(SECRET)
        );
        assert_eq!(redis.get_db(), 0);
    });
}
