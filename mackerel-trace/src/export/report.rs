//! Counting exported and dropped spans (or log records), and telling the user on stderr — at
//! most once per interval, never per item, never with the API key.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// How often, at most, a problem is reported on stderr.
const REPORT_INTERVAL: Duration = Duration::from_secs(10);

/// Counts of what happened to finished spans since the pipeline started.
///
/// ```no_run
/// let guard = mackerel_trace::init()?;
/// let stats = guard.stats();
/// println!("{} exported, {} dropped", stats.exported, stats.dropped());
/// # Ok::<(), mackerel_trace::Error>(())
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ExportStats {
    /// Spans the endpoint accepted.
    pub exported: u64,
    /// Spans dropped because the queue was full (the application outran the exporter).
    pub dropped_queue_full: u64,
    /// Spans dropped because the endpoint failed, rejected the request, or did not answer in time.
    pub dropped_export_failed: u64,
    /// Spans still waiting to be exported when shutdown stopped the export: its bound ran out
    /// (a slow or unreachable endpoint, more spans than it could send in time). A request in
    /// flight at that moment counts here, whatever the endpoint answers later.
    pub dropped_at_shutdown: u64,
}

impl ExportStats {
    /// All dropped spans.
    pub fn dropped(&self) -> u64 {
        self.dropped_queue_full + self.dropped_export_failed + self.dropped_at_shutdown
    }
}

/// What a report counts: the noun of its messages and the settings they point to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Signal {
    Spans,
    #[cfg(feature = "logs")]
    Logs,
}

impl Signal {
    /// The items, in the plural: "spans".
    pub(crate) fn items(self) -> &'static str {
        match self {
            Signal::Spans => "spans",
            #[cfg(feature = "logs")]
            Signal::Logs => "log records",
        }
    }

    /// One item, with its article: "a span".
    pub(crate) fn one(self) -> &'static str {
        match self {
            Signal::Spans => "a span",
            #[cfg(feature = "logs")]
            Signal::Logs => "a log record",
        }
    }

    /// The name of the export thread.
    pub(crate) fn thread_name(self) -> &'static str {
        match self {
            Signal::Spans => "mackerel-trace-export",
            #[cfg(feature = "logs")]
            Signal::Logs => "mackerel-trace-export-logs",
        }
    }

    /// The path an OTLP/HTTP receiver takes this signal at, for a 404's hint.
    pub(crate) fn wrong_path_hint(self) -> &'static str {
        match self {
            Signal::Spans => {
                "; check the endpoint's path (an OTLP/HTTP receiver takes traces at /v1/traces)"
            }
            #[cfg(feature = "logs")]
            Signal::Logs => {
                "; check the endpoint's path (an OTLP/HTTP receiver takes logs at /v1/logs)"
            }
        }
    }

    fn queue_full_hint(self) -> &'static str {
        match self {
            Signal::Spans => "raise OTEL_BSP_MAX_QUEUE_SIZE or record fewer spans",
            #[cfg(feature = "logs")]
            Signal::Logs => {
                "raise OTEL_BLRP_MAX_QUEUE_SIZE or log less, e.g. MACKEREL_TRACE_LOGS=warn"
            }
        }
    }

    fn dropped_until_accepted(self) -> &'static str {
        match self {
            Signal::Spans => "Spans are dropped until it is accepted.",
            #[cfg(feature = "logs")]
            Signal::Logs => "Log records are dropped until it is accepted.",
        }
    }
}

/// Shared between the application threads (queue-full drops) and the export worker.
#[derive(Debug)]
pub(crate) struct Report {
    signal: Signal,
    exported: AtomicU64,
    dropped_queue_full: AtomicU64,
    dropped_export_failed: AtomicU64,
    dropped_at_shutdown: AtomicU64,
    key_rejection_reported: AtomicBool,
    state: Mutex<ReportState>,
}

#[derive(Debug, Default)]
struct ReportState {
    last_report: Option<Instant>,
    /// Dropped totals already reported, so each line tells what is new.
    reported_queue_full: u64,
    reported_export_failed: u64,
    last_failure: Option<String>,
    /// Why the export in progress failed, in the HTTP client's words (cause and destination),
    /// which say more than the exporter's error.
    pending_failure: Option<String>,
    /// The lines printed, for tests to read.
    #[cfg(test)]
    printed: Vec<String>,
}

impl Report {
    pub(crate) fn new(signal: Signal) -> Self {
        Report {
            signal,
            exported: AtomicU64::new(0),
            dropped_queue_full: AtomicU64::new(0),
            dropped_export_failed: AtomicU64::new(0),
            dropped_at_shutdown: AtomicU64::new(0),
            key_rejection_reported: AtomicBool::new(false),
            state: Mutex::new(ReportState::default()),
        }
    }

    pub(crate) fn signal(&self) -> Signal {
        self.signal
    }

    pub(crate) fn stats(&self) -> ExportStats {
        ExportStats {
            exported: self.exported.load(Ordering::Relaxed),
            dropped_queue_full: self.dropped_queue_full.load(Ordering::Relaxed),
            dropped_export_failed: self.dropped_export_failed.load(Ordering::Relaxed),
            dropped_at_shutdown: self.dropped_at_shutdown.load(Ordering::Relaxed),
        }
    }

    pub(crate) fn exported(&self, items: usize) {
        self.exported.fetch_add(items as u64, Ordering::Relaxed);
    }

    /// Called on application threads: only counts.
    #[inline]
    pub(crate) fn dropped_queue_full(&self) {
        self.dropped_queue_full.fetch_add(1, Ordering::Relaxed);
    }

    /// Counts items lost to a failed export and remembers why, for the next report: the HTTP
    /// client's last noted cause, or `fallback` when it noted none.
    pub(crate) fn export_failed(&self, items: usize, fallback: String) {
        self.dropped_export_failed
            .fetch_add(items as u64, Ordering::Relaxed);
        if let Ok(mut state) = self.state.lock() {
            state.last_failure = Some(state.pending_failure.take().unwrap_or(fallback));
        }
    }

    /// Counts `items` left unexported when shutdown stopped the export, and says so on stderr
    /// with why, when it stopped because `timed_out` (its bound) ran out.
    pub(crate) fn dropped_at_shutdown(&self, items: u64, timed_out: Option<Duration>) {
        self.dropped_at_shutdown.fetch_add(items, Ordering::Relaxed);
        let Some(line) = self.shutdown_line(items, timed_out) else {
            return;
        };
        eprintln!("{line}");
        #[cfg(test)]
        if let Ok(mut state) = self.state.lock() {
            state.printed.push(line);
        }
    }

    /// The line about `items` dropped at shutdown; none when nothing went wrong.
    fn shutdown_line(&self, items: u64, timed_out: Option<Duration>) -> Option<String> {
        let noun = self.signal.items();
        let dropped = format!("dropped {items} {noun} not yet exported");
        let Some(timeout) = timed_out else {
            return (items > 0).then(|| format!("mackerel-trace: {dropped} at exit"));
        };
        let why = self
            .pending_failure()
            .map(|why| format!(" (the last attempt: {why})"))
            .unwrap_or_default();
        let dropped = if items > 0 {
            format!("; {dropped}")
        } else {
            String::new()
        };
        Some(format!(
            "mackerel-trace: flushing {noun} at exit did not finish within {} ms{why}{dropped}",
            timeout.as_millis()
        ))
    }

    /// The HTTP client's account of a failed attempt, used if the export fails in the end.
    pub(crate) fn note_failure(&self, why: String) {
        if let Ok(mut state) = self.state.lock() {
            state.pending_failure = Some(why);
        }
    }

    /// An attempt succeeded: earlier attempts' failures no longer explain anything.
    pub(crate) fn clear_failure(&self) {
        if let Ok(mut state) = self.state.lock() {
            state.pending_failure = None;
        }
    }

    /// Why the export in progress is failing, if an attempt failed: for the exit line when
    /// flushing runs out of time mid-retry.
    pub(crate) fn pending_failure(&self) -> Option<String> {
        self.state.lock().ok()?.pending_failure.clone()
    }

    /// The endpoint refused the API key: said once per process, whatever happens later.
    pub(crate) fn key_rejected(&self, endpoint: &str, status: u16) {
        if !self.key_rejection_reported.swap(true, Ordering::Relaxed) {
            eprintln!(
                "mackerel-trace: {endpoint} rejected the API key (HTTP {status}); check that MACKEREL_APIKEY holds a Mackerel API key with Write permission. {}",
                self.signal.dropped_until_accepted()
            );
        }
    }

    /// Prints one line about items dropped since the last line, unless a line was printed
    /// less than the interval ago. Called by the export worker, never on application threads.
    pub(crate) fn maybe_print(&self, force: bool) {
        let Ok(mut state) = self.state.lock() else {
            return;
        };
        let now = Instant::now();
        if !force
            && state
                .last_report
                .is_some_and(|last| now.duration_since(last) < REPORT_INTERVAL)
        {
            return;
        }
        let stats = self.stats();
        let queue_full = stats.dropped_queue_full - state.reported_queue_full;
        let failed = stats.dropped_export_failed - state.reported_export_failed;
        if queue_full == 0 && failed == 0 {
            return;
        }
        let why = if failed > 0 {
            state.last_failure.take()
        } else {
            None
        };
        let line = self.dropped_line(queue_full, failed, why.as_deref());
        eprintln!("{line}");
        #[cfg(test)]
        state.printed.push(line);
        state.last_report = Some(now);
        state.reported_queue_full = stats.dropped_queue_full;
        state.reported_export_failed = stats.dropped_export_failed;
    }

    /// The lines `maybe_print` printed.
    #[cfg(test)]
    pub(crate) fn printed(&self) -> Vec<String> {
        self.state
            .lock()
            .map(|state| state.printed.clone())
            .unwrap_or_default()
    }

    /// The line about `queue_full` and `failed` items dropped, `why` the last failure.
    fn dropped_line(&self, queue_full: u64, failed: u64, why: Option<&str>) -> String {
        let items = self.signal.items();
        let mut line = String::from("mackerel-trace: dropped ");
        if queue_full > 0 {
            line.push_str(&format!(
                "{queue_full} {items} because the export queue was full ({})",
                self.signal.queue_full_hint()
            ));
        }
        if failed > 0 {
            if queue_full > 0 {
                line.push_str(" and ");
            }
            line.push_str(&format!("{failed} {items} because export failed"));
            if let Some(why) = why {
                line.push_str(&format!(": {why}"));
            }
        }
        line
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn span_lines_speak_of_spans() {
        let report = Report::new(Signal::Spans);
        assert_eq!(
            report.dropped_line(3, 2, Some("no answer")),
            "mackerel-trace: dropped 3 spans because the export queue was full (raise OTEL_BSP_MAX_QUEUE_SIZE or record fewer spans) and 2 spans because export failed: no answer"
        );
        assert!(Signal::Spans
            .wrong_path_hint()
            .ends_with("takes traces at /v1/traces)"));
    }

    #[test]
    fn drops_are_printed_at_most_once_per_interval_unless_forced() {
        let report = Report::new(Signal::Spans);
        report.dropped_queue_full();
        report.maybe_print(false);
        report.dropped_queue_full();
        report.maybe_print(false);
        report.maybe_print(true);
        let line = "mackerel-trace: dropped 1 spans because the export queue was full (raise OTEL_BSP_MAX_QUEUE_SIZE or record fewer spans)";
        assert_eq!(report.printed(), [line, line]);
    }

    #[test]
    fn shutdown_running_out_of_time_counts_and_states_what_it_left() {
        let report = Report::new(Signal::Spans);
        report.note_failure("no answer from http://127.0.0.1:9/v1/traces".to_owned());
        report.dropped_at_shutdown(79_389, Some(Duration::from_millis(5_000)));
        report.dropped_at_shutdown(0, None);
        report.dropped_at_shutdown(3, None);
        assert_eq!(
            report.printed(),
            [
                "mackerel-trace: flushing spans at exit did not finish within 5000 ms (the last attempt: no answer from http://127.0.0.1:9/v1/traces); dropped 79389 spans not yet exported",
                "mackerel-trace: dropped 3 spans not yet exported at exit",
            ]
        );
        let stats = report.stats();
        assert_eq!(stats.dropped_at_shutdown, 79_392);
        assert_eq!(stats.dropped(), 79_392);
    }

    #[cfg(feature = "logs")]
    #[test]
    fn log_lines_speak_of_log_records() {
        let report = Report::new(Signal::Logs);
        assert_eq!(
            report.dropped_line(3, 2, None),
            "mackerel-trace: dropped 3 log records because the export queue was full (raise OTEL_BLRP_MAX_QUEUE_SIZE or log less, e.g. MACKEREL_TRACE_LOGS=warn) and 2 log records because export failed"
        );
        assert!(Signal::Logs
            .wrong_path_hint()
            .ends_with("takes logs at /v1/logs)"));
        assert_eq!(
            Signal::Logs.dropped_until_accepted(),
            "Log records are dropped until it is accepted."
        );
    }
}
