//! redis 1.x async commands as DB CLIENT spans: wrap the connection in [`Traced`], and every
//! command and pipeline sent through it is a span in Mackerel's DB view.
//!
//! ```no_run
//! use redis::AsyncTypedCommands as _;
//!
//! # async fn run() -> redis::RedisResult<()> {
//! let client = redis::Client::open("redis://cache:6379/0")?;
//! let connection = client.get_multiplexed_async_connection().await?;
//! let mut redis = mackerel_trace::redis::Traced::new(connection).server(client.get_connection_info());
//!
//! redis.set("user:42", "alice").await?; // a span: SET user:42 ?
//! let name = redis.get("user:42").await?; // a span: GET user:42
//! # Ok(())
//! # }
//! ```
//!
//! [`Traced`] is itself a `redis::aio::ConnectionLike`, so `AsyncCommands`,
//! `AsyncTypedCommands`, `redis::cmd(…).query_async`, `redis::pipe()` and `Script` work on it
//! unchanged; it wraps any connection: `MultiplexedConnection`, `ConnectionManager`, a
//! deadpool or bb8 pooled connection.
//!
//! # The spans
//!
//! Each command (or pipeline) is a CLIENT span, a child of the span current where it was sent,
//! from the moment it is sent to its reply, named by its operation:
//!
//! - `db.system.name` = `redis`; `db.operation.name` = the command name upper case (`GET`,
//!   `CLIENT SETNAME`); `db.namespace` = the database index redis-rs reports for the
//!   connection (`get_db()`: the one it was opened with; a `SELECT` sent as a command is not
//!   followed); `server.address` and `server.port` given by [`Traced::server`] or
//!   [`Traced::server_url`].
//! - `db.query.text` = the command with its keys and `?` for every other argument, as the Redis
//!   CLI would show it: `SET user:42 ?`, `MGET a b`, `MSET a ? b ?`, `HSET h f1 ? f2 ?`. Which
//!   arguments are keys comes from a table of common commands (below); a command it does not
//!   know shows its first argument and `?` for the rest (`JSON.SET doc ? ?`). A key that is
//!   not plain text is written in double quotes with escapes (invalid UTF-8 as `\u{FFFD}`);
//!   the text stops at 4096 bytes.
//! - A pipeline is one span: `db.operation.name` = `PIPELINE` (`MULTI` when atomic), followed
//!   by the command name when all its commands have the same one (`PIPELINE GET`); the
//!   commands' texts joined by `; ` (or their one text, when all are the same);
//!   `db.operation.batch.size` = the number of commands. A pipeline of one command that is not
//!   atomic is that command's span.
//! - `EVALSHA` and `FCALL` record the script's SHA1 or the function's name as
//!   `db.stored_procedure.name`.
//!
//! | shown | commands |
//! |---|---|
//! | no argument | `AUTH`, `HELLO`, `SELECT`, `PING`, `ECHO`, `SCAN`, `MIGRATE`, `WAIT`, … and the subcommands of `ACL`, `CLIENT`, `CONFIG`, `SCRIPT`, `FUNCTION`, `CLUSTER`, … (`CONFIG SET ? ?`) |
//! | every argument | `GET`, `DEL`, `UNLINK`, `EXISTS`, `MGET`, `INCR`, `DECR`, `TTL`, `TYPE`, `RENAME`, `SINTER`, `SUNIONSTORE`, `HGETALL`, `SUBSCRIBE`, … |
//! | the first | every other command: `SET`, `EXPIRE`, `INCRBY`, `LPUSH`, `SADD`, `ZADD`, `LRANGE`, `XADD`, …; after the subcommand: `OBJECT`, `MEMORY`, `XINFO`, `XGROUP` |
//! | the first two | `LMOVE`, `BLMOVE`, `BRPOPLPUSH`, `SMOVE`, `COPY`, `LCS`, `ZRANGESTORE`, `GEOSEARCHSTORE` |
//! | all but the last | `BLPOP`, `BRPOP`, `BZPOPMIN`, `BZPOPMAX` |
//! | keys of pairs | `MSET`, `MSETNX` |
//! | key and fields | `HGET`, `HMGET`, `HDEL`, `HEXISTS`, `HSTRLEN`; `HSET`, `HMSET` (`HSET h f ?`); `HSETNX`, `HINCRBY`, `HINCRBYFLOAT` |
//! | the key count and keys | `EVAL ? 1 k ?` (the script is not shown), `EVALSHA sha 1 k ?`, `FCALL`, `ZUNIONSTORE d 2 a b`, `ZINTER`, `SINTERCARD`, `LMPOP`, `BLMPOP`, … |
//! | `STREAMS` and the stream keys | `XREAD`, `XREADGROUP` |
//!
//! # Failures
//!
//! An error reply (`-WRONGTYPE …`, for a command or for any command of a pipeline, `EXEC`'s
//! included) or an error from the connection sets status `Error`, adds an `exception` event
//! with the message, and sets `error.type`:
//! - for an error reply: its prefix (`ERR`, `WRONGTYPE`, `NOSCRIPT`, `EXECABORT`, …; `_OTHER`
//!   for prefixes redis does not document, such as a module's), also as
//!   `db.response.status_code`;
//! - for a failure of the connection: redis-rs's `ErrorKind` (`Io`, `Parse`, `Client`, …), or
//!   `timeout`.
//!
//! The message leaves out the arguments redis repeats for an unknown command. What happens after
//! the reply came is not the command's: a reply that does not convert to the type asked for
//! fails in redis-rs after the span ended. A future dropped before its reply ends its span
//! with a `cancelled` event. Telemetry never changes a command's result; with no pipeline
//! installed, the wrapper costs one check per command.

mod keys;
mod query_text;
mod reply;

use std::fmt;

use ::redis::aio::ConnectionLike;
use ::redis::{
    Cmd, ConnectionAddr, ConnectionInfo, IntoConnectionInfo as _, Pipeline, RedisFuture, Value,
};
use opentelemetry::trace::TraceContextExt as _;
use opentelemetry::{Context, KeyValue};

use crate::db_span::{DbQuery, Endpoint};
use crate::tracer;
use query_text::Shaped;
use reply::Reply;

/// A redis connection whose every command and pipeline is a DB CLIENT span; see the
/// [module docs](self) for what the spans hold.
///
/// ```no_run
/// use mackerel_trace::redis::Traced;
///
/// # async fn run() -> redis::RedisResult<()> {
/// let client = redis::Client::open("redis://127.0.0.1/")?;
/// let connection = client.get_multiplexed_async_connection().await?;
/// let mut redis = Traced::new(connection).server(client.get_connection_info());
/// let (a, b): (Option<String>, Option<String>) = redis::pipe()
///     .get("a")
///     .get("b")
///     .query_async(&mut redis) // one span: PIPELINE GET, "GET a; GET b"
///     .await?;
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct Traced<C> {
    inner: C,
    /// `server.address`, `server.port`, and `db.namespace` as of the last command.
    server: Endpoint,
    namespace_of: Option<i64>,
}

impl<C> Traced<C> {
    /// Wraps `connection`: any `redis::aio::ConnectionLike`.
    pub fn new(connection: C) -> Self {
        Traced {
            inner: connection,
            server: Endpoint {
                system: Some("redis"),
                ..Endpoint::default()
            },
            namespace_of: None,
        }
    }

    /// Records `server.address` and `server.port` of the server `info` names
    /// (`client.get_connection_info()`); a Unix socket's path is the address. Nothing else of
    /// `info` is kept, the password least of all.
    ///
    /// See the [`Traced`] example.
    #[must_use]
    pub fn server(mut self, info: &ConnectionInfo) -> Self {
        let (address, port) = match info.addr() {
            ConnectionAddr::Tcp(host, port) => (Some(host.clone()), Some(*port)),
            ConnectionAddr::TcpTls { host, port, .. } => (Some(host.clone()), Some(*port)),
            ConnectionAddr::Unix(path) => (Some(path.to_string_lossy().into_owned()), None),
            _ => (None, None),
        };
        self.server.address = address;
        self.server.port = port;
        self
    }

    /// Records `server.address` and `server.port` of the server a redis URL names
    /// (`redis://`, `rediss://`, `valkey://`, `redis+unix://`, as redis-rs reads them), for
    /// when there is a URL at hand rather than a `redis::Client` (a pool's configuration).
    /// Nothing else of the URL is kept, the password least of all; a URL that names no server
    /// records nothing.
    ///
    /// ```
    /// use mackerel_trace::redis::Traced;
    ///
    /// fn traced<C>(connection: C, url: &str) -> Traced<C> {
    ///     // url = "redis://:s3cret@cache.internal:6380/2": cache.internal, 6380
    ///     Traced::new(connection).server_url(url)
    /// }
    /// ```
    #[must_use]
    pub fn server_url(mut self, url: &str) -> Self {
        match url.into_connection_info() {
            Ok(info) => self.server(&info),
            // Read without redis-rs where it refuses (`rediss://` without its TLS feature).
            Err(_) => {
                let Endpoint { address, port, .. } = Endpoint::from_url(url);
                self.server.address = address;
                self.server.port = port;
                self
            }
        }
    }

    /// The wrapped connection. Commands sent through it directly are not traced.
    pub fn get_ref(&self) -> &C {
        &self.inner
    }

    /// The wrapped connection, mutably (for its own methods, such as `subscribe`). Commands
    /// sent through it directly are not traced.
    pub fn get_mut(&mut self) -> &mut C {
        &mut self.inner
    }

    /// The wrapped connection.
    pub fn into_inner(self) -> C {
        self.inner
    }
}

impl<C: ConnectionLike> Traced<C> {
    /// The span of one request, current in the returned context; `None` when no pipeline is
    /// installed (and then nothing is shaped).
    fn start(&mut self, shape: impl FnOnce() -> Shaped) -> Option<Context> {
        tracer::tracer()?;
        let db = self.inner.get_db();
        if self.namespace_of != Some(db) {
            self.server.namespace = Some(db.to_string());
            self.namespace_of = Some(db);
        }
        let Shaped {
            operation,
            text,
            procedure,
            batch_size,
        } = shape();
        let query = DbQuery {
            system: Some("redis"),
            text,
            operation: Some(operation),
            collection: None,
            endpoint: Some(&self.server),
        };
        let cx = query.start(&Context::current(), None)?;
        let span = cx.span();
        if let Some(size) = batch_size {
            let size = i64::try_from(size).unwrap_or(i64::MAX);
            span.set_attribute(KeyValue::new("db.operation.batch.size", size));
        }
        if let Some(procedure) = procedure {
            span.set_attribute(KeyValue::new("db.stored_procedure.name", procedure));
        }
        Some(cx)
    }
}

impl<C: ConnectionLike> ConnectionLike for Traced<C> {
    fn req_packed_command<'a>(&'a mut self, cmd: &'a Cmd) -> RedisFuture<'a, Value> {
        let Some(cx) = self.start(|| query_text::command(cmd)) else {
            return self.inner.req_packed_command(cmd);
        };
        let inner = {
            let _attached = cx.clone().attach();
            self.inner.req_packed_command(cmd)
        };
        Box::pin(Reply::new(inner, cx, None))
    }

    fn req_packed_commands<'a>(
        &'a mut self,
        pipeline: &'a Pipeline,
        offset: usize,
        count: usize,
    ) -> RedisFuture<'a, Vec<Value>> {
        let Some(cx) = self.start(|| query_text::pipeline(pipeline)) else {
            return self.inner.req_packed_commands(pipeline, offset, count);
        };
        let inner = {
            let _attached = cx.clone().attach();
            self.inner.req_packed_commands(pipeline, offset, count)
        };
        Box::pin(Reply::new(inner, cx, Some(pipeline)))
    }

    fn get_db(&self) -> i64 {
        self.inner.get_db()
    }
}

/// The server's address and port only: a connection's own `Debug` may show its password.
impl<C> fmt::Debug for Traced<C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Traced")
            .field("server.address", &self.server.address)
            .field("server.port", &self.server.port)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_server_comes_from_a_url_or_connection_info_without_the_password() {
        let traced = Traced::new(()).server_url("redis://user:s3cret@cache.internal:6380/2");
        assert_eq!(traced.server.address.as_deref(), Some("cache.internal"));
        assert_eq!(traced.server.port, Some(6380));
        let shown = format!("{traced:?}");
        assert!(
            shown.contains("cache.internal") && !shown.contains("s3cret"),
            "{shown}"
        );

        let info = "redis://:pw@10.0.0.5/0".into_connection_info().unwrap();
        let traced = Traced::new(()).server(&info);
        assert_eq!(traced.server.address.as_deref(), Some("10.0.0.5"));
        assert_eq!(traced.server.port, Some(6379));

        // redis-rs without its TLS feature refuses rediss://.
        let traced = Traced::new(()).server_url("rediss://:pw@cache.example:6390");
        assert_eq!(traced.server.address.as_deref(), Some("cache.example"));
        assert_eq!(traced.server.port, Some(6390));

        let traced = Traced::new(()).server_url("redis+unix:///run/redis.sock?db=3");
        assert_eq!(traced.server.address.as_deref(), Some("/run/redis.sock"));
        assert_eq!(traced.server.port, None);

        let traced = Traced::new(()).server_url("not a url");
        assert_eq!((traced.server.address, traced.server.port), (None, None));
    }
}
