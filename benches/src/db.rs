//! The database benchmarks' queries, shared by the divan suite (`benches/db.rs`) and the
//! instruction-count binary (`src/bin/db_calls.rs`): one sqlx query on SQLite in memory (its
//! statements run on sqlx's worker thread) and one diesel query on SQLite in memory.

use std::sync::OnceLock;

use mackerel_trace::traced;
use sqlx::sqlite::SqlitePoolOptions;
use sqlx::SqlitePool;

pub fn runtime() -> &'static tokio::runtime::Runtime {
    static RUNTIME: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RUNTIME.get_or_init(|| {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("tokio runtime")
    })
}

pub fn pool() -> SqlitePool {
    runtime().block_on(async {
        let pool = SqlitePoolOptions::new()
            .min_connections(1)
            .max_connections(1)
            .connect("sqlite::memory:")
            .await
            .expect("SQLite in memory");
        sqlx::query("CREATE TABLE items (id INTEGER PRIMARY KEY, name TEXT NOT NULL)")
            .execute(&pool)
            .await
            .expect("create");
        sqlx::query("INSERT INTO items (id, name) VALUES (1, 'tea')")
            .execute(&pool)
            .await
            .expect("insert");
        // Warm: the worker thread, its statement cache, the allocator.
        for _ in 0..1_000 {
            query(&pool).await;
        }
        pool
    })
}

pub async fn query(pool: &SqlitePool) -> String {
    let (name,): (String,) = sqlx::query_as("SELECT name FROM items WHERE id = ?")
        .bind(1_i64)
        .fetch_one(pool)
        .await
        .expect("one row");
    name
}

#[traced]
pub async fn traced_query(pool: &SqlitePool) -> String {
    query(pool).await
}

#[derive(diesel::QueryableByName)]
struct Name {
    #[diesel(sql_type = diesel::sql_types::Text)]
    name: String,
}

pub fn diesel_connection(instrumented: bool) -> diesel::SqliteConnection {
    use diesel::{Connection as _, RunQueryDsl as _};
    let mut conn = diesel::SqliteConnection::establish(":memory:").expect("SQLite in memory");
    diesel::sql_query("CREATE TABLE items (id INTEGER PRIMARY KEY, name TEXT NOT NULL)")
        .execute(&mut conn)
        .expect("create");
    diesel::sql_query("INSERT INTO items (id, name) VALUES (1, 'tea')")
        .execute(&mut conn)
        .expect("insert");
    if instrumented {
        conn.set_instrumentation(mackerel_trace::diesel::Instrumentation::new().url(":memory:"));
    }
    conn
}

pub fn diesel_query(conn: &mut diesel::SqliteConnection) -> String {
    use diesel::RunQueryDsl as _;
    diesel::sql_query("SELECT name FROM items WHERE id = ?")
        .bind::<diesel::sql_types::Integer, _>(1)
        .get_result::<Name>(conn)
        .expect("one row")
        .name
}

/// Uninstalls the pipeline again.
pub fn off() {
    let guard = mackerel_trace::Config::new()
        .with_env_vars([("OTEL_SDK_DISABLED", "true")])
        .init()
        .expect("OTEL_SDK_DISABLED");
    assert!(!guard.is_enabled());
}
