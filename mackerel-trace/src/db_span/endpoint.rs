//! Where a database is, read from its connection URL: `server.address`, `server.port`,
//! `db.namespace`, and the system the scheme names. The user name and password are never kept.

use opentelemetry::KeyValue;

/// A database's address, database name and kind, from its connection URL.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Endpoint {
    /// `db.system.name` the URL's scheme names (`postgres://` → `postgresql`).
    pub(crate) system: Option<&'static str>,
    /// `server.address`.
    pub(crate) address: Option<String>,
    /// `server.port`.
    pub(crate) port: Option<u16>,
    /// `db.namespace`: the database name (or a redis database number).
    pub(crate) namespace: Option<String>,
}

impl Endpoint {
    /// Reads `postgres://user:password@host:5432/db?…`, `mysql://…`, `mariadb://…`,
    /// `redis://…/0`, `sqlite://path` or `sqlite:path`, and libpq's `host=… port=… dbname=…`.
    /// What it cannot read stays `None`; nothing here fails.
    pub(crate) fn from_url(url: &str) -> Endpoint {
        let url = url.trim();
        let Some((scheme, rest)) = url.split_once(':') else {
            return Endpoint::from_key_values(url);
        };
        let system = match scheme.to_ascii_lowercase().as_str() {
            "postgres" | "postgresql" => Some("postgresql"),
            "mysql" => Some("mysql"),
            "mariadb" => Some("mariadb"),
            "redis" | "rediss" | "redis+unix" | "unix" => Some("redis"),
            "sqlite" | "file" => Some("sqlite"),
            _ if url.contains('=') => return Endpoint::from_key_values(url),
            _ => None,
        };
        if system == Some("sqlite") {
            let path = rest.trim_start_matches("//");
            let path = path.split('?').next().unwrap_or_default();
            return Endpoint {
                system,
                namespace: (!path.is_empty()).then(|| path.to_owned()),
                ..Endpoint::default()
            };
        }
        let Some(rest) = rest.strip_prefix("//") else {
            return Endpoint {
                system,
                ..Endpoint::default()
            };
        };
        let rest = rest.split(['?', '#']).next().unwrap_or_default();
        let (authority, path) = rest.split_once('/').unwrap_or((rest, ""));
        // Userinfo ends at the last '@' (a password may hold one): dropped whole.
        let host_port = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
        let (address, port) = split_host_port(host_port);
        let namespace = percent_encoding::percent_decode_str(path)
            .decode_utf8()
            .ok()
            .map(|p| p.into_owned())
            .filter(|p| !p.is_empty());
        Endpoint {
            system,
            address,
            port,
            namespace,
        }
    }

    /// libpq's `host=localhost port=5432 dbname=app user=… password=…`.
    fn from_key_values(conninfo: &str) -> Endpoint {
        let mut endpoint = Endpoint::default();
        for pair in conninfo.split_whitespace() {
            let Some((key, value)) = pair.split_once('=') else {
                continue;
            };
            let value = value.trim_matches('\'');
            match key {
                "host" | "hostaddr" if endpoint.address.is_none() => {
                    endpoint.address = Some(value.to_owned());
                }
                "port" => endpoint.port = value.parse().ok(),
                "dbname" => endpoint.namespace = Some(value.to_owned()),
                _ => {}
            }
        }
        if endpoint != Endpoint::default() {
            endpoint.system = Some("postgresql");
        }
        endpoint
    }

    /// The span attributes this endpoint sets.
    pub(crate) fn attributes(&self, attributes: &mut Vec<KeyValue>) {
        if let Some(address) = &self.address {
            attributes.push(KeyValue::new("server.address", address.clone()));
        }
        if let Some(port) = self.port {
            attributes.push(KeyValue::new("server.port", i64::from(port)));
        }
        if let Some(namespace) = &self.namespace {
            attributes.push(KeyValue::new("db.namespace", namespace.clone()));
        }
    }
}

/// `host:port`, `[::1]:port` or `host`.
fn split_host_port(host_port: &str) -> (Option<String>, Option<u16>) {
    if host_port.is_empty() {
        return (None, None);
    }
    if let Some(rest) = host_port.strip_prefix('[') {
        let (host, after) = rest.split_once(']').unwrap_or((rest, ""));
        let port = after.strip_prefix(':').and_then(|p| p.parse().ok());
        return (Some(host.to_owned()), port);
    }
    match host_port.rsplit_once(':') {
        Some((host, port)) if port.bytes().all(|b| b.is_ascii_digit()) => {
            (Some(host.to_owned()), port.parse().ok())
        }
        _ => (Some(host_port.to_owned()), None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_give_address_port_database_and_system_but_never_the_password() {
        let e =
            Endpoint::from_url("postgres://app:s3cr%40t@db.internal:6543/orders?sslmode=disable");
        assert_eq!(e.system, Some("postgresql"));
        assert_eq!(e.address.as_deref(), Some("db.internal"));
        assert_eq!(e.port, Some(6543));
        assert_eq!(e.namespace.as_deref(), Some("orders"));
        assert!(!format!("{e:?}").contains("s3cr"));

        let e = Endpoint::from_url("mysql://root:zq@x9@127.0.0.1/shop");
        assert_eq!(
            (e.system, e.address.as_deref(), e.port),
            (Some("mysql"), Some("127.0.0.1"), None)
        );
        assert!(!format!("{e:?}").contains("zq"));

        let e = Endpoint::from_url("redis://:pw@[::1]:6380/2");
        assert_eq!(e.address.as_deref(), Some("::1"));
        assert_eq!(e.port, Some(6380));
        assert_eq!(e.namespace.as_deref(), Some("2"));

        let e = Endpoint::from_url("sqlite://data/app.db?mode=rwc");
        assert_eq!(
            (e.system, e.namespace.as_deref()),
            (Some("sqlite"), Some("data/app.db"))
        );
        assert_eq!(Endpoint::from_url(":memory:").system, None);

        let e = Endpoint::from_url("host=localhost port=5433 dbname=app user=u password=secret");
        assert_eq!(e.system, Some("postgresql"));
        assert_eq!(e.address.as_deref(), Some("localhost"));
        assert_eq!(e.port, Some(5433));
        assert_eq!(e.namespace.as_deref(), Some("app"));
        assert!(!format!("{e:?}").contains("secret"));
    }
}
