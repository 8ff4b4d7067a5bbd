//! The future of a traced command or pipeline: the connection's own, with its span current on
//! every poll; it reads the reply for failures and ends the span, or marks it `cancelled` when
//! dropped before the reply came.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context as TaskContext, Poll};

use ::redis::{ErrorKind, Pipeline, RedisError, RedisFuture, RedisResult, ServerError, Value};
use opentelemetry::trace::TraceContextExt as _;
use opentelemetry::{Context, KeyValue};

use super::query_text;
use crate::db_span;
use crate::value::cut_format;

/// The connection's future and the span it ends.
pub(super) struct Reply<'a, T> {
    inner: RedisFuture<'a, T>,
    span: Option<Context>,
    /// The pipeline sent, if it was one: names its failed command.
    pipeline: Option<&'a Pipeline>,
}

impl<'a, T> Reply<'a, T> {
    pub(super) fn new(
        inner: RedisFuture<'a, T>,
        span: Context,
        pipeline: Option<&'a Pipeline>,
    ) -> Self {
        Reply {
            inner,
            span: Some(span),
            pipeline,
        }
    }
}

impl<T: Replies> Future for Reply<'_, T> {
    type Output = RedisResult<T>;

    fn poll(self: Pin<&mut Self>, task: &mut TaskContext<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        let poll = match &this.span {
            Some(cx) => {
                let _attached = cx.clone().attach();
                this.inner.as_mut().poll(task)
            }
            None => this.inner.as_mut().poll(task),
        };
        if let Poll::Ready(result) = &poll {
            if let Some(cx) = this.span.take() {
                record_outcome(&cx, result, this.pipeline);
                cx.span().end();
            }
        }
        poll
    }
}

impl<T> Drop for Reply<'_, T> {
    fn drop(&mut self) {
        if let Some(cx) = self.span.take() {
            if !std::thread::panicking() {
                cx.span().add_event("cancelled", Vec::new());
            }
            cx.span().end();
        }
    }
}

/// A reply that may carry the server's errors inside it.
pub(super) trait Replies {
    /// The first error the server answered with (and the index of its command in a
    /// pipeline), and how many there were.
    fn server_errors(&self) -> (Option<(usize, &ServerError)>, usize);
}

impl Replies for Value {
    fn server_errors(&self) -> (Option<(usize, &ServerError)>, usize) {
        server_errors(std::slice::from_ref(self))
    }
}

impl Replies for Vec<Value> {
    fn server_errors(&self) -> (Option<(usize, &ServerError)>, usize) {
        match self.as_slice() {
            // An atomic pipeline's one reply: EXEC's, one item per command.
            [Value::Array(items)] => server_errors(items),
            replies => server_errors(replies),
        }
    }
}

/// The server errors among `replies` and the items of replies that are arrays (`EXEC`'s).
fn server_errors(replies: &[Value]) -> (Option<(usize, &ServerError)>, usize) {
    let mut first = None;
    let mut count = 0;
    for (index, reply) in replies.iter().enumerate() {
        let items = match reply {
            Value::Array(items) => items.as_slice(),
            single => std::slice::from_ref(single),
        };
        for item in items {
            if let Value::ServerError(error) = item {
                first = first.or(Some((index, error)));
                count += 1;
            }
        }
    }
    (first, count)
}

fn record_outcome<T: Replies>(cx: &Context, result: &RedisResult<T>, pipeline: Option<&Pipeline>) {
    match result {
        Ok(reply) => {
            let (Some((index, error)), count) = reply.server_errors() else {
                return;
            };
            let code = error.code();
            let text = server_message(code, error.details());
            let message = match pipeline {
                Some(pipeline) if pipeline.len() > 1 => {
                    let operation = pipeline
                        .cmd_iter()
                        .nth(index)
                        .map(|cmd| query_text::command(cmd).operation)
                        .unwrap_or_default();
                    let more = match count {
                        1 => String::new(),
                        2 => "; 1 more command failed".to_owned(),
                        n => format!("; {} more commands failed", n - 1),
                    };
                    cut_format(format_args!(
                        "{operation} (command {} of {}): {text}{more}",
                        index + 1,
                        pipeline.len()
                    ))
                }
                _ => text,
            };
            record_server_failure(cx, code, message);
        }
        Err(error) => match error.code() {
            Some(code) => {
                let message = without_echoed_arguments(&cut_format(format_args!("{error}")));
                record_server_failure(cx, code, message);
            }
            None => {
                let message = without_echoed_arguments(&cut_format(format_args!("{error}")));
                db_span::record_failure(cx, client_error_type(error), message);
            }
        },
    }
}

/// `db.response.status_code` = the error's prefix (`WRONGTYPE`), `error.type` the same when it
/// is a prefix redis documents, `_OTHER` otherwise (a module's own).
fn record_server_failure(cx: &Context, code: &str, message: String) {
    cx.span().set_attribute(KeyValue::new(
        "db.response.status_code",
        cut_format(format_args!("{code}")),
    ));
    db_span::record_failure(cx, error_type(code), message);
}

/// The reply as redis-cli prints it: `WRONGTYPE Operation against a key holding …`.
fn server_message(code: &str, details: Option<&str>) -> String {
    let message = match details {
        Some(details) => cut_format(format_args!("{code} {details}")),
        None => cut_format(format_args!("{code}")),
    };
    without_echoed_arguments(&message)
}

/// Redis repeats the arguments of an unknown command in its error
/// (`ERR unknown command 'X', with args beginning with: 'secret'`): they are values.
fn without_echoed_arguments(message: &str) -> String {
    let end = message
        .find(", with args beginning with:")
        .unwrap_or(message.len());
    message[..end].to_owned()
}

/// The error prefixes of redis and valkey, as `&'static str`.
fn error_type(code: &str) -> &'static str {
    const PREFIXES: &[&str] = &[
        "ERR",
        "WRONGTYPE",
        "EXECABORT",
        "NOSCRIPT",
        "NOAUTH",
        "WRONGPASS",
        "NOPERM",
        "NOPROTO",
        "OOM",
        "BUSY",
        "BUSYKEY",
        "BUSYGROUP",
        "LOADING",
        "READONLY",
        "MASTERDOWN",
        "MISCONF",
        "NOREPLICAS",
        "MOVED",
        "ASK",
        "TRYAGAIN",
        "CLUSTERDOWN",
        "CROSSSLOT",
        "NOTBUSY",
        "UNKILLABLE",
        "NOSUB",
        "NOGROUP",
        "UNBLOCKED",
        "NOTREADY",
    ];
    PREFIXES
        .iter()
        .find(|prefix| prefix.eq_ignore_ascii_case(code))
        .copied()
        .unwrap_or("_OTHER")
}

/// A failure on the client's side: redis-rs's `ErrorKind`, or `timeout`.
fn client_error_type(error: &RedisError) -> &'static str {
    if error.is_timeout() {
        return "timeout";
    }
    match error.kind() {
        ErrorKind::Io => "Io",
        ErrorKind::Parse => "Parse",
        ErrorKind::AuthenticationFailed => "AuthenticationFailed",
        ErrorKind::UnexpectedReturnType => "UnexpectedReturnType",
        ErrorKind::InvalidClientConfig => "InvalidClientConfig",
        ErrorKind::Client => "Client",
        ErrorKind::Extension => "Extension",
        ErrorKind::ClusterConnectionNotFound => "ClusterConnectionNotFound",
        ErrorKind::RESP3NotSupported => "RESP3NotSupported",
        _ => "_OTHER",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_prefixes_are_their_own_error_type_and_others_are_other() {
        assert_eq!(error_type("WRONGTYPE"), "WRONGTYPE");
        assert_eq!(error_type("ERR"), "ERR");
        assert_eq!(error_type("MYMODULEERR"), "_OTHER");
    }

    #[test]
    fn echoed_arguments_of_an_unknown_command_are_dropped() {
        assert_eq!(
            server_message(
                "ERR",
                Some("unknown command 'NOPE', with args beginning with: 's3cret' ")
            ),
            "ERR unknown command 'NOPE'"
        );
        assert_eq!(server_message("NOAUTH", None), "NOAUTH");
    }

    #[test]
    fn errors_inside_exec_and_pipeline_replies_are_found() {
        let error = || {
            let Value::ServerError(e) =
                ::redis::parse_redis_value(b"-WRONGTYPE Operation against a key\r\n").unwrap()
            else {
                panic!("not a server error")
            };
            Value::ServerError(e)
        };
        let pipeline = vec![Value::Okay, error(), Value::Int(1), error()];
        let (first, count) = pipeline.server_errors();
        assert_eq!(
            (first.map(|(i, e)| (i, e.code())), count),
            (Some((1, "WRONGTYPE")), 2)
        );

        let exec = vec![Value::Array(vec![Value::Okay, error()])];
        let (first, count) = exec.server_errors();
        assert_eq!((first.map(|(i, _)| i), count), (Some(1), 1));

        assert_eq!(error().server_errors().1, 1);
        assert_eq!(Value::Okay.server_errors().1, 0);
    }
}
