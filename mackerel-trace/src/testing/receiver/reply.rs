//! [`Reply`]: what the receiver answers, to script failures (status codes, delays, Retry-After).

use std::time::Duration;

use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceResponse;
use prost::Message as _;

/// How a [`Receiver`](super::Receiver) answers one request.
///
/// A receiver answers each request with the next reply of its script, then with [`Reply::ok`]
/// once the script has run out. There is one script per receiver, not one per signal: trace and
/// log exports (feature `logs`) take the next reply in the order they arrive, so a test that
/// exports both scripts them as one sequence.
///
/// # Example
///
/// ```
/// use std::time::Duration;
/// use mackerel_trace::testing::{Receiver, Reply};
///
/// let receiver = Receiver::with_script(vec![
///     Reply::status(503),
///     Reply::status(429).header("Retry-After", "1"),
///     Reply::ok().after(Duration::from_millis(100)),
///     Reply::close(),
///     Reply::hang(),
/// ]);
/// # drop(receiver);
/// ```
#[derive(Clone, Debug)]
pub struct Reply {
    pub(super) action: Action,
    pub(super) delay: Duration,
}

/// What the connection does once the request has been read (and the delay has passed).
#[derive(Clone, Debug)]
pub(super) enum Action {
    Answer {
        status: u16,
        headers: Vec<(String, String)>,
        body: Vec<u8>,
    },
    Close,
    Hang,
}

impl Reply {
    /// `200 OK`, `Content-Type: application/x-protobuf`, and an encoded empty
    /// `ExportTraceServiceResponse`: what a collector answers when it accepted every span. An
    /// empty response encodes to no bytes for every signal, so this is also the right answer to
    /// a logs export (an empty `ExportLogsServiceResponse`).
    ///
    /// ```
    /// use mackerel_trace::testing::{Receiver, Reply};
    ///
    /// // Same as `Receiver::start()`, whose script is empty.
    /// let receiver = Receiver::with_script(vec![Reply::ok()]);
    /// # drop(receiver);
    /// ```
    pub fn ok() -> Reply {
        Reply::status(200)
            .header("Content-Type", "application/x-protobuf")
            .body(ExportTraceServiceResponse::default().encode_to_vec())
    }

    /// An answer with this status code, no headers but `Content-Length`, and an empty body.
    ///
    /// ```
    /// use mackerel_trace::testing::{Receiver, Reply};
    ///
    /// let receiver = Receiver::with_script(vec![Reply::status(503), Reply::status(400)]);
    /// # drop(receiver);
    /// ```
    pub fn status(code: u16) -> Reply {
        Reply {
            action: Action::Answer {
                status: code,
                headers: Vec::new(),
                body: Vec::new(),
            },
            delay: Duration::ZERO,
        }
    }

    /// [`Reply::ok`] sent only after `delay`, for exercising client timeouts.
    ///
    /// ```
    /// use std::time::Duration;
    /// use mackerel_trace::testing::{Receiver, Reply};
    ///
    /// let receiver = Receiver::with_script(vec![Reply::delay(Duration::from_millis(200))]);
    /// # drop(receiver);
    /// ```
    pub fn delay(delay: Duration) -> Reply {
        Reply::ok().after(delay)
    }

    /// Reads the request, records it, then closes the connection without answering: the client
    /// sees a connection error.
    ///
    /// ```
    /// use mackerel_trace::testing::{Receiver, Reply};
    ///
    /// let receiver = Receiver::with_script(vec![Reply::close()]);
    /// # drop(receiver);
    /// ```
    pub fn close() -> Reply {
        Reply {
            action: Action::Close,
            delay: Duration::ZERO,
        }
    }

    /// Reads the request, records it, and never answers; the connection is closed only when the
    /// receiver is dropped. The client sees its own timeout.
    ///
    /// ```
    /// use mackerel_trace::testing::{Receiver, Reply};
    ///
    /// let receiver = Receiver::with_script(vec![Reply::hang()]);
    /// # drop(receiver);
    /// ```
    pub fn hang() -> Reply {
        Reply {
            action: Action::Hang,
            delay: Duration::ZERO,
        }
    }

    /// Adds a response header. `Content-Length` and `Connection` are managed by the receiver
    /// and ignored here; so is any header on [`Reply::close`] and [`Reply::hang`].
    ///
    /// ```
    /// use mackerel_trace::testing::{Receiver, Reply};
    ///
    /// let receiver = Receiver::with_script(vec![Reply::status(429).header("Retry-After", "1")]);
    /// # drop(receiver);
    /// ```
    pub fn header(mut self, name: &str, value: &str) -> Reply {
        if let Action::Answer { headers, .. } = &mut self.action {
            headers.push((name.to_owned(), value.to_owned()));
        }
        self
    }

    /// Sets the response body (ignored on [`Reply::close`] and [`Reply::hang`]).
    ///
    /// ```
    /// use mackerel_trace::testing::{Receiver, Reply};
    ///
    /// let receiver = Receiver::with_script(vec![Reply::status(400)
    ///     .header("Content-Type", "text/plain")
    ///     .body("invalid api key")]);
    /// # drop(receiver);
    /// ```
    pub fn body(mut self, bytes: impl Into<Vec<u8>>) -> Reply {
        if let Action::Answer { body, .. } = &mut self.action {
            *body = bytes.into();
        }
        self
    }

    /// Waits this long after reading the request before acting (answering, closing or hanging).
    ///
    /// ```
    /// use std::time::Duration;
    /// use mackerel_trace::testing::{Receiver, Reply};
    ///
    /// let receiver =
    ///     Receiver::with_script(vec![Reply::status(503).after(Duration::from_millis(50))]);
    /// # drop(receiver);
    /// ```
    pub fn after(mut self, delay: Duration) -> Reply {
        self.delay = delay;
        self
    }

    /// The status code this reply sends, if it sends one.
    pub(super) fn status_code(&self) -> Option<u16> {
        match self.action {
            Action::Answer { status, .. } => Some(status),
            Action::Close | Action::Hang => None,
        }
    }
}
