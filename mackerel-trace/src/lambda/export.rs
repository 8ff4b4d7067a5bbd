//! Exporting an invocation's spans before its response: the flush runs and is waited for on
//! tokio's blocking pool (never on a runtime worker, of which a 1-vCPU function has one), and
//! is bounded by the invocation's deadline, less the time the runtime needs to post the
//! response. An export that runs out of time is reported, at most once per interval.

use std::future::Future;
use std::pin::Pin;
use std::sync::mpsc;
use std::sync::Mutex;
use std::task::{Context as TaskContext, Poll};
use std::time::{Duration, Instant, SystemTime};

use opentelemetry_sdk::error::{OTelSdkError, OTelSdkResult};

use crate::tracer::{self, Flush};

/// Kept back from the invocation's deadline for the runtime to post the response: a response
/// that reaches Lambda after the deadline turns the invocation into a timeout.
pub(super) const RESPONSE_MARGIN: Duration = Duration::from_millis(200);

/// The bound when the invocation names no deadline (never on Lambda itself).
const NO_DEADLINE_BOUND: Duration = Duration::from_secs(10);

/// How often, at most, an export that ran out of time is reported on stderr.
const REPORT_INTERVAL: Duration = Duration::from_secs(10);

/// When waiting for the export must stop: the invocation's deadline less the margin.
pub(super) fn export_deadline(context: &lambda_runtime::Context) -> Instant {
    let now = Instant::now();
    if context.deadline == 0 {
        return now + NO_DEADLINE_BOUND;
    }
    let left = context
        .deadline()
        .duration_since(SystemTime::now())
        .unwrap_or(Duration::ZERO);
    now + left.saturating_sub(RESPONSE_MARGIN)
}

/// An export under way: its result arrives from the blocking pool.
pub(super) struct Export {
    state: State,
    request_id: String,
}

enum State {
    Waiting(tokio::task::JoinHandle<OTelSdkResult>),
    Finished(OTelSdkResult),
}

impl Export {
    /// Hands every span finished so far to the exporter and starts waiting for it, by
    /// `deadline`. Outside a tokio runtime (nothing to block there but this thread), it waits
    /// here.
    pub(super) fn start(request_id: String, deadline: Instant) -> Export {
        let state = match tokio::runtime::Handle::try_current() {
            Ok(runtime) => State::Waiting(runtime.spawn_blocking(move || flush_until(deadline))),
            Err(_) => State::Finished(flush_until(deadline)),
        };
        Export { state, request_id }
    }
}

impl Export {
    /// Nothing to export: no span was recorded.
    pub(super) fn none() -> Export {
        Export {
            state: State::Finished(Ok(())),
            request_id: String::new(),
        }
    }
}

impl Future for Export {
    type Output = ();

    fn poll(self: Pin<&mut Self>, task: &mut TaskContext<'_>) -> Poll<()> {
        let this = self.get_mut();
        let result = match &mut this.state {
            State::Waiting(handle) => match Pin::new(handle).poll(task) {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(Ok(result)) => result,
                Poll::Ready(Err(join)) => Err(OTelSdkError::InternalFailure(join.to_string())),
            },
            State::Finished(result) => std::mem::replace(result, Ok(())),
        };
        this.state = State::Finished(Ok(()));
        if let Err(error) = result {
            report(&this.request_id, &error);
        }
        Poll::Ready(())
    }
}

/// Flushes the installed pipeline, waiting no later than `deadline`.
fn flush_until(deadline: Instant) -> OTelSdkResult {
    match tracer::flush() {
        None => Ok(()),
        Some(Flush::Queue(queue)) => queue.flush_until(deadline),
        Some(Flush::Provider(provider)) => {
            // A provider of the user's own has no flush by a deadline: it flushes on a thread
            // of its own, which this one stops waiting for at the deadline.
            let (done, finished) = mpsc::channel();
            std::thread::Builder::new()
                .name("mackerel-trace-flush".to_owned())
                .spawn(move || {
                    let _ = done.send(provider.force_flush());
                })
                .map_err(|err| OTelSdkError::InternalFailure(err.to_string()))?;
            let wait = deadline.saturating_duration_since(Instant::now());
            finished
                .recv_timeout(wait)
                .unwrap_or(Err(OTelSdkError::Timeout(wait)))
        }
    }
}

/// One stderr line, unless one was printed less than the interval ago; the invocations not
/// reported in between are counted in the next line.
fn report(request_id: &str, error: &OTelSdkError) {
    static LAST: Mutex<(Option<Instant>, u64)> = Mutex::new((None, 0));
    let Ok(mut last) = LAST.lock() else {
        return;
    };
    let now = Instant::now();
    if last
        .0
        .is_some_and(|at| now.duration_since(at) < REPORT_INTERVAL)
    {
        last.1 += 1;
        return;
    }
    let others = match std::mem::take(&mut last.1) {
        0 => String::new(),
        1 => " (and of 1 invocation since the last report)".to_owned(),
        n => format!(" (and of {n} invocations since the last report)"),
    };
    last.0 = Some(now);
    let why = match error {
        OTelSdkError::Timeout(_) => format!(
            "were not all exported by the invocation's deadline, less {} ms for its response",
            RESPONSE_MARGIN.as_millis()
        ),
        other => format!("could not be exported: {other}"),
    };
    eprintln!(
        "mackerel-trace: the spans of Lambda invocation {request_id}{others} {why}; the response was not held longer, and what is left goes out later if the environment is not frozen first"
    );
}
