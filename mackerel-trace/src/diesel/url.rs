//! Which database a diesel connection URL names, by the rules of diesel's own connections.

use crate::db_span::Endpoint;

/// The system, address, port and database of a diesel connection URL; never its user name or
/// password.
///
/// - `postgres://` and `postgresql://` URLs, and libpq's `host=… dbname=…` strings:
///   `postgresql`;
/// - `mysql://`: `mysql` (diesel reaches MariaDB through it too, and cannot tell them apart);
///   `mariadb://`, which only [`Instrumentation::url`](super::Instrumentation::url) is given:
///   `mariadb`;
/// - anything else is what `SqliteConnection` takes: a path, `:memory:`, a `file:` URI or
///   `sqlite://…`: `sqlite`, with the file as `db.namespace`.
pub(super) fn endpoint(url: &str) -> Endpoint {
    let url = url.trim();
    let scheme = url
        .split_once("://")
        .map(|(scheme, _)| scheme.to_ascii_lowercase());
    match scheme.as_deref() {
        Some("postgres" | "postgresql" | "mysql" | "mariadb") => Endpoint::from_url(url),
        _ if is_libpq_key_values(url) => Endpoint {
            system: Some("postgresql"),
            ..Endpoint::from_url(url)
        },
        _ => sqlite(url),
    }
}

/// `host=db port=5432 dbname=app`: the first word is `key=…`.
fn is_libpq_key_values(url: &str) -> bool {
    let first = url.split_whitespace().next().unwrap_or_default();
    first.split_once('=').is_some_and(|(key, _)| {
        !key.is_empty() && key.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
    })
}

fn sqlite(url: &str) -> Endpoint {
    let path = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("file:"))
        .unwrap_or(url);
    let path = path.split('?').next().unwrap_or_default();
    let in_memory = path.is_empty() || path == ":memory:";
    Endpoint {
        system: Some("sqlite"),
        namespace: (!in_memory).then(|| path.to_owned()),
        ..Endpoint::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn postgres_urls_give_the_server_and_database_but_never_the_password() {
        let e = endpoint("postgres://app:p%40ss@db.internal:6543/orders?sslmode=disable");
        assert_eq!(e.system, Some("postgresql"));
        assert_eq!(e.address.as_deref(), Some("db.internal"));
        assert_eq!(e.port, Some(6543));
        assert_eq!(e.namespace.as_deref(), Some("orders"));
        assert!(!format!("{e:?}").contains("p%40ss") && !format!("{e:?}").contains("p@ss"));
        assert_eq!(endpoint("postgresql://h/db").system, Some("postgresql"));
    }

    #[test]
    fn libpq_key_value_strings_are_postgresql() {
        let e = endpoint("host=localhost port=5433 dbname=app user=u password=hunter2");
        assert_eq!(e.system, Some("postgresql"));
        assert_eq!(e.address.as_deref(), Some("localhost"));
        assert_eq!(e.port, Some(5433));
        assert_eq!(e.namespace.as_deref(), Some("app"));
        assert!(!format!("{e:?}").contains("hunter2"));
        assert_eq!(endpoint("dbname=app").system, Some("postgresql"));
    }

    #[test]
    fn mysql_urls_are_mysql_and_mariadb_urls_mariadb() {
        let e = endpoint("mysql://root:pw@127.0.0.1:3307/shop");
        assert_eq!(e.system, Some("mysql"));
        assert_eq!(e.address.as_deref(), Some("127.0.0.1"));
        assert_eq!(e.port, Some(3307));
        assert_eq!(e.namespace.as_deref(), Some("shop"));
        assert_eq!(endpoint("mariadb://h/shop").system, Some("mariadb"));
    }

    #[test]
    fn everything_else_is_sqlite_with_the_file_as_namespace() {
        let memory = endpoint(":memory:");
        assert_eq!((memory.system, memory.namespace), (Some("sqlite"), None));
        assert_eq!(endpoint("").system, Some("sqlite"));
        let file = endpoint("data/app.db");
        assert_eq!(file.namespace.as_deref(), Some("data/app.db"));
        assert_eq!(file.address, None);
        let uri = endpoint("file:data/app.db?mode=ro");
        assert_eq!(uri.namespace.as_deref(), Some("data/app.db"));
        let uri = endpoint("sqlite://data/app.db");
        assert_eq!(uri.namespace.as_deref(), Some("data/app.db"));
        assert_eq!(endpoint(r"C:\data\app.db").system, Some("sqlite"));
    }
}
