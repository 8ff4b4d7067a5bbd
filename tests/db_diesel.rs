//! The diesel integration against real databases, over real HTTP to the local receiver: sync
//! diesel on SQLite and PostgreSQL, diesel-async on PostgreSQL and MariaDB. Each query is a
//! CLIENT span under the span that ran it, with the SQL but no bound value, the server but no
//! password, and a unique violation marked as the query's failure. diesel-async's pipelined
//! queries end their own spans; a dropped query future is ended as cancelled and takes no
//! other query's end.
//!
//! PostgreSQL and MariaDB come from `support::servers`; without them installed, their tests
//! return at once (the harness says so).

mod support;

use std::time::Duration;

use diesel::result::{DatabaseErrorKind, Error as DieselError};
use diesel::{ExpressionMethods as _, QueryDsl as _};
use mackerel_trace::testing::{ReceivedSpan, Receiver};
use mackerel_trace::traced;
use support::servers::Server;

const CLIENT: i32 = 3;
const STATUS_ERROR: i32 = 2;
/// Bound as a value: must appear in no span.
const SECRET: &str = "s3cret-bound-value";

diesel::table! {
    users (id) {
        id -> Integer,
        name -> Text,
        note -> Text,
    }
}

const SQLITE_TABLE: &str =
    "CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE, note TEXT NOT NULL)";
const POSTGRES_TABLE: &str = "CREATE TEMPORARY TABLE users \
     (id SERIAL PRIMARY KEY, name TEXT NOT NULL UNIQUE, note TEXT NOT NULL)";
const MARIADB_TABLE: &str = "CREATE TEMPORARY TABLE users \
     (id INTEGER AUTO_INCREMENT PRIMARY KEY, name VARCHAR(64) NOT NULL UNIQUE, note TEXT NOT NULL)";
/// Literals written into the SQL: `db.query.text` has `?` for them.
const UPDATE_WITH_LITERALS: &str = "UPDATE users SET note = 'literal-note' WHERE id = 1";

/// The same five statements on any connection, sync (`users_scenario!(conn, table)`) or async
/// (`users_scenario!(conn, table, await)`): create, insert (with [`SECRET`] bound), select,
/// update with literals, and an insert that violates the unique name.
macro_rules! users_scenario {
    ($conn:expr, $create:expr $(, $await:tt)?) => {{
        diesel::sql_query($create).execute(&mut *$conn)$(.$await)?.unwrap();
        diesel::insert_into(users::table)
            .values((users::name.eq("alice"), users::note.eq(SECRET)))
            .execute(&mut *$conn)$(.$await)?
            .unwrap();
        let note: String = users::table
            .filter(users::name.eq("alice"))
            .select(users::note)
            .first(&mut *$conn)$(.$await)?
            .unwrap();
        assert_eq!(note, SECRET);
        diesel::sql_query(UPDATE_WITH_LITERALS).execute(&mut *$conn)$(.$await)?.unwrap();
        let duplicate = diesel::insert_into(users::table)
            .values((users::name.eq("alice"), users::note.eq("second")))
            .execute(&mut *$conn)$(.$await)?;
        assert!(
            matches!(
                duplicate,
                Err(DieselError::DatabaseError(DatabaseErrorKind::UniqueViolation, _))
            ),
            "{duplicate:?}"
        );
    }};
}

/// Runs `body` with diesel traced and a pipeline exporting to a receiver; returns the spans.
fn collect(expected: usize, body: impl FnOnce()) -> Vec<ReceivedSpan> {
    let _one = support::exclusive();
    mackerel_trace::diesel::install();
    let receiver = Receiver::start();
    let guard = support::start(support::config(&receiver.endpoint(), &[]));
    body();
    guard.shutdown();
    receiver.wait_for_spans(expected, Duration::from_secs(5))
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

fn by_name<'a>(spans: &'a [ReceivedSpan], name: &str) -> &'a ReceivedSpan {
    spans
        .iter()
        .find(|s| s.name() == name)
        .unwrap_or_else(|| panic!("no span {name:?} in {:?}", names(spans)))
}

fn names(spans: &[ReceivedSpan]) -> Vec<(&str, Option<&str>)> {
    spans
        .iter()
        .map(|s| (s.name(), s.string_attr("db.query.text")))
        .collect()
}

fn text(span: &ReceivedSpan) -> &str {
    span.string_attr("db.query.text").unwrap_or_default()
}

fn failed(span: &ReceivedSpan) -> bool {
    span.span
        .status
        .as_ref()
        .is_some_and(|s| s.code == STATUS_ERROR)
}

/// The DB spans whose `db.query.text` starts with `prefix`.
fn queries<'a>(spans: &'a [ReceivedSpan], prefix: &str) -> Vec<&'a ReceivedSpan> {
    spans
        .iter()
        .filter(|s| text(s).starts_with(prefix))
        .collect()
}

fn query<'a>(spans: &'a [ReceivedSpan], prefix: &str) -> &'a ReceivedSpan {
    let found = queries(spans, prefix);
    assert_eq!(found.len(), 1, "one {prefix:?} in {:?}", names(spans));
    found[0]
}

/// `child` is `parent`'s child, in its trace, and starts and ends inside it.
fn assert_child_of(child: &ReceivedSpan, parent: &ReceivedSpan) {
    assert_eq!(child.trace_id(), parent.trace_id(), "{}", child.name());
    assert_eq!(
        child.parent_span_id(),
        Some(parent.span_id()),
        "{}",
        child.name()
    );
    assert!(child.span.start_time_unix_nano >= parent.span.start_time_unix_nano);
    assert!(child.span.end_time_unix_nano <= parent.span.end_time_unix_nano);
    assert!(child.span.start_time_unix_nano <= child.span.end_time_unix_nano);
}

/// `needle` is nowhere in any span: name, attributes, events, status.
fn assert_nowhere(spans: &[ReceivedSpan], needle: &str) {
    for span in spans {
        let all = format!("{:?}", span.span);
        assert!(
            !all.contains(needle),
            "{needle:?} in span {}: {all}",
            span.name()
        );
    }
}

/// The password of `postgres://user:password@…`.
fn password(url: &str) -> &str {
    let userinfo = url.split("://").nth(1).unwrap().split('@').next().unwrap();
    userinfo.split(':').nth(1).unwrap()
}

/// What [`users_scenario!`] left: five CLIENT spans under `parent`, with the system (and the
/// server), no bound value and no literal, and the unique violation as the failure.
fn assert_users_scenario(
    spans: &[ReceivedSpan],
    parent: &ReceivedSpan,
    system: &str,
    server: Option<&Server>,
) {
    let create = query(spans, "CREATE");
    let inserts = queries(spans, "INSERT");
    assert_eq!(inserts.len(), 2, "{:?}", names(spans));
    let inserted = inserts.iter().find(|s| !failed(s)).expect("the insert");
    let duplicate = inserts
        .iter()
        .find(|s| failed(s))
        .expect("the failed insert");
    let select = spans
        .iter()
        .find(|s| text(s).starts_with("SELECT") && text(s).contains("FROM"))
        .expect("the select");
    let update = query(spans, "UPDATE");

    for span in [create, inserted, duplicate, select, update] {
        assert_eq!(span.span.kind, CLIENT, "{}", span.name());
        assert_child_of(span, parent);
        assert_eq!(span.string_attr("db.system.name"), Some(system));
        if let Some(server) = server {
            assert_eq!(
                span.string_attr("server.address"),
                Some(server.host.as_str())
            );
            assert_eq!(span.int_attr("server.port"), Some(i64::from(server.port)));
            assert_eq!(span.string_attr("db.namespace"), Some("mackerel"));
        }
    }
    assert_eq!(inserted.name(), "INSERT users");
    assert_eq!(inserted.string_attr("db.operation.name"), Some("INSERT"));
    assert!(!text(inserted).contains("--"), "{}", text(inserted));
    assert_eq!(select.name(), "SELECT users");
    assert!(text(select).contains("LIMIT"), "{}", text(select));
    assert_eq!(text(update), "UPDATE users SET note = ? WHERE id = ?");
    assert_nowhere(spans, "literal-note");
    assert_nowhere(spans, SECRET);
    assert!(!failed(create) && !failed(inserted) && !failed(select) && !failed(update));

    assert_eq!(duplicate.string_attr("error.type"), Some("UniqueViolation"));
    let exception = duplicate.event("exception").expect("an exception event");
    assert!(exception
        .attributes
        .iter()
        .any(|kv| kv.key == "exception.message"));
}

mod sync_diesel {
    use diesel::{Connection as _, PgConnection, RunQueryDsl as _, SqliteConnection};

    use super::*;

    #[traced]
    fn sqlite_users() {
        let mut conn = SqliteConnection::establish(":memory:").unwrap();
        users_scenario!(&mut conn, SQLITE_TABLE);
    }

    #[test]
    fn sqlite_queries_are_client_spans_under_the_traced_function_without_values() {
        let spans = collect(7, sqlite_users);
        let parent = by_name(&spans, "sqlite_users");
        assert_users_scenario(&spans, parent, "sqlite", None);
        let connect = by_name(&spans, "connect");
        assert_child_of(connect, parent);
        assert_eq!(connect.string_attr("db.system.name"), Some("sqlite"));
    }

    /// The work of a request handler, on a blocking thread.
    fn sqlite_work() {
        let mut conn = SqliteConnection::establish(":memory:").unwrap();
        users_scenario!(&mut conn, SQLITE_TABLE);
    }

    #[traced]
    async fn sqlite_in_spawn_blocking() {
        tokio::task::spawn_blocking(mackerel_trace::in_current_span(sqlite_work))
            .await
            .unwrap();
    }

    #[test]
    fn sqlite_in_spawn_blocking_is_under_the_caller_through_in_current_span() {
        let spans = collect(7, || runtime().block_on(sqlite_in_spawn_blocking()));
        let parent = by_name(&spans, "sqlite_in_spawn_blocking");
        assert_users_scenario(&spans, parent, "sqlite", None);
    }

    #[traced]
    fn postgres_users(url: &str) {
        let mut conn = PgConnection::establish(url).unwrap();
        users_scenario!(&mut conn, POSTGRES_TABLE);
    }

    #[test]
    fn postgres_queries_carry_the_server_and_never_the_password() {
        let Some(server) = support::servers::shared_postgres() else {
            return;
        };
        let spans = collect(7, || postgres_users(&server.url));
        let parent = by_name(&spans, "postgres_users");
        assert_users_scenario(&spans, parent, "postgresql", Some(server));
        let connect = by_name(&spans, "connect");
        assert_child_of(connect, parent);
        assert_eq!(connect.span.kind, CLIENT);
        assert_eq!(
            connect.string_attr("server.address"),
            Some(server.host.as_str())
        );
        assert_eq!(
            connect.int_attr("server.port"),
            Some(i64::from(server.port))
        );
        assert_eq!(connect.string_attr("db.namespace"), Some("mackerel"));
        assert_nowhere(&spans, password(&server.url));
    }

    #[traced]
    fn postgres_connect_failure(url: &str) {
        assert!(PgConnection::establish(url).is_err());
    }

    #[test]
    fn a_connection_that_fails_is_a_failed_connect_span() {
        let Some(server) = support::servers::shared_postgres() else {
            return;
        };
        let wrong = server
            .url
            .replace(password(&server.url), "not-the-password");
        let spans = collect(2, || postgres_connect_failure(&wrong));
        let parent = by_name(&spans, "postgres_connect_failure");
        let connect = by_name(&spans, "connect");
        assert_child_of(connect, parent);
        assert!(failed(connect));
        assert_eq!(connect.string_attr("error.type"), Some("BadConnection"));
        assert!(connect.event("exception").is_some());
        assert_nowhere(&spans, "not-the-password");
    }
}

mod async_diesel {
    use axum::routing::get;
    use axum::Router;
    use diesel::sql_types::Double;
    use diesel_async::{
        AsyncConnection as _, AsyncMysqlConnection, AsyncPgConnection, RunQueryDsl as _,
    };
    use mackerel_trace::tower::ServerLayer;

    use super::*;

    const SERVER: i32 = 2;

    #[traced]
    async fn postgres_users(url: String) -> &'static str {
        let mut conn = AsyncPgConnection::establish(&url).await.unwrap();
        users_scenario!(&mut conn, POSTGRES_TABLE, await);
        "ok"
    }

    #[test]
    fn postgres_queries_in_an_axum_request_are_children_of_the_handlers_traced_function() {
        let Some(server) = support::servers::shared_postgres() else {
            return;
        };
        let url = server.url.clone();
        let spans = collect(10, || {
            runtime().block_on(async move {
                let app = Router::new()
                    .route("/users", get(move || postgres_users(url.clone())))
                    .layer(ServerLayer::new());
                let base = support::serve(app).await;
                assert_eq!(support::get_text(&format!("{base}/users")).await, "ok");
            });
        });
        let request = by_name(&spans, "GET /users");
        assert_eq!(request.span.kind, SERVER);
        let handler = by_name(&spans, "postgres_users");
        assert_child_of(handler, request);
        assert_users_scenario(&spans, handler, "postgresql", Some(server));
        // Connecting, and the statements the connection sets itself up with, under it.
        let connect = by_name(&spans, "connect");
        assert_child_of(connect, handler);
        for set_up in queries(&spans, "SET") {
            assert_child_of(set_up, connect);
        }
        assert_nowhere(&spans, password(&server.url));
    }

    #[traced]
    async fn pipelined(url: &str) {
        let conn = AsyncPgConnection::establish(url).await.unwrap();
        // Issued first, answered first; the slow one after it.
        let fast = diesel::select(diesel::dsl::sql::<diesel::sql_types::Integer>("1"))
            .get_result::<i32>(&mut &conn);
        let slow = diesel::sql_query("SELECT pg_sleep(0.3)").execute(&mut &conn);
        let (one, _) = tokio::try_join!(fast, slow).unwrap();
        assert_eq!(one, 1);
        // The same statement twice in flight.
        let twin = |seconds: f64| {
            diesel::sql_query("SELECT pg_sleep($1)")
                .bind::<Double, _>(seconds)
                .execute(&mut &conn)
        };
        tokio::try_join!(twin(0.05), twin(0.0)).unwrap();
    }

    #[test]
    fn postgres_pipelined_queries_each_end_their_own_span() {
        let Some(server) = support::servers::shared_postgres() else {
            return;
        };
        let spans = collect(8, || runtime().block_on(pipelined(&server.url)));
        let parent = by_name(&spans, "pipelined");
        let fast = query(&spans, "SELECT ?");
        let slow = query(&spans, "SELECT pg_sleep(?)");
        let twins = queries(&spans, "SELECT pg_sleep($1)");
        assert_eq!(twins.len(), 2, "{:?}", names(&spans));
        for span in [fast, slow, twins[0], twins[1]] {
            assert_child_of(span, parent);
            assert!(span.event("cancelled").is_none(), "{}", text(span));
        }
        let duration = |s: &ReceivedSpan| s.span.end_time_unix_nano - s.span.start_time_unix_nano;
        assert!(duration(slow) >= 300_000_000, "{}", duration(slow));
        assert!(duration(fast) < duration(slow));
        assert!(fast.span.end_time_unix_nano <= slow.span.end_time_unix_nano);
    }

    #[traced]
    async fn dropped_then_run_again(url: &str) {
        let mut conn = AsyncPgConnection::establish(url).await.unwrap();
        let sleep =
            |seconds: f64| diesel::sql_query("SELECT pg_sleep($1)").bind::<Double, _>(seconds);
        let dropped =
            tokio::time::timeout(Duration::from_millis(50), sleep(0.2).execute(&mut conn)).await;
        assert!(dropped.is_err(), "the query was meant to be cut short");
        sleep(0.0).execute(&mut conn).await.unwrap();
        diesel::sql_query("SELECT 2")
            .execute(&mut conn)
            .await
            .unwrap();
    }

    #[test]
    fn postgres_dropped_query_is_ended_as_cancelled_and_takes_no_other_end() {
        let Some(server) = support::servers::shared_postgres() else {
            return;
        };
        let spans = collect(7, || {
            runtime().block_on(dropped_then_run_again(&server.url))
        });
        let parent = by_name(&spans, "dropped_then_run_again");
        let mut sleeps = queries(&spans, "SELECT pg_sleep($1)");
        assert_eq!(sleeps.len(), 2, "{:?}", names(&spans));
        sleeps.sort_by_key(|s| s.span.start_time_unix_nano);
        let (dropped, again) = (sleeps[0], sleeps[1]);
        let other = query(&spans, "SELECT ?");
        for span in [dropped, again, other] {
            assert_child_of(span, parent);
            assert!(!failed(span));
        }
        assert!(
            dropped.event("cancelled").is_some(),
            "the dropped query ends as cancelled"
        );
        assert!(
            again.event("cancelled").is_none(),
            "the query run again ends with its own end"
        );
        assert!(other.event("cancelled").is_none());
        assert!(again.span.end_time_unix_nano <= other.span.start_time_unix_nano);
    }

    #[traced]
    async fn mariadb_users(url: &str) {
        let mut conn = AsyncMysqlConnection::establish(url).await.unwrap();
        users_scenario!(&mut conn, MARIADB_TABLE, await);
        // Created, so started, and dropped unpolled: a mysql_async connection whose query is
        // dropped in flight cannot run the next one.
        drop(diesel::sql_query("SELECT SLEEP(0.2)").execute(&mut conn));
        diesel::sql_query("SELECT 3")
            .execute(&mut conn)
            .await
            .unwrap();
    }

    #[test]
    fn mariadb_queries_carry_the_server_and_a_dropped_query_ends_at_the_next() {
        let Some(server) = support::servers::shared_mariadb() else {
            return;
        };
        let spans = collect(9, || runtime().block_on(mariadb_users(&server.url)));
        let parent = by_name(&spans, "mariadb_users");
        assert_users_scenario(&spans, parent, "mysql", Some(server));
        let connect = by_name(&spans, "connect");
        assert_child_of(connect, parent);
        assert_nowhere(&spans, password(&server.url));
        let dropped = query(&spans, "SELECT SLEEP(?)");
        let next = query(&spans, "SELECT ?");
        assert!(dropped.event("cancelled").is_some());
        assert!(dropped.span.end_time_unix_nano <= next.span.start_time_unix_nano);
        assert!(next.event("cancelled").is_none() && !failed(next));
    }
}
