//! Counting exported and dropped spans, and telling the user on stderr — at most once per
//! interval, never per span, never with the API key.

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
}

impl ExportStats {
    /// All dropped spans.
    pub fn dropped(&self) -> u64 {
        self.dropped_queue_full + self.dropped_export_failed
    }
}

/// Shared between the application threads (queue-full drops) and the export worker.
#[derive(Debug)]
pub(crate) struct Report {
    exported: AtomicU64,
    dropped_queue_full: AtomicU64,
    dropped_export_failed: AtomicU64,
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
}

impl Report {
    pub(crate) fn new() -> Self {
        Report {
            exported: AtomicU64::new(0),
            dropped_queue_full: AtomicU64::new(0),
            dropped_export_failed: AtomicU64::new(0),
            key_rejection_reported: AtomicBool::new(false),
            state: Mutex::new(ReportState::default()),
        }
    }

    pub(crate) fn stats(&self) -> ExportStats {
        ExportStats {
            exported: self.exported.load(Ordering::Relaxed),
            dropped_queue_full: self.dropped_queue_full.load(Ordering::Relaxed),
            dropped_export_failed: self.dropped_export_failed.load(Ordering::Relaxed),
        }
    }

    pub(crate) fn exported(&self, spans: usize) {
        self.exported.fetch_add(spans as u64, Ordering::Relaxed);
    }

    /// Called on application threads: only counts.
    #[inline]
    pub(crate) fn dropped_queue_full(&self) {
        self.dropped_queue_full.fetch_add(1, Ordering::Relaxed);
    }

    /// Counts spans lost to a failed export and remembers why, for the next report: the HTTP
    /// client's last noted cause, or `fallback` when it noted none.
    pub(crate) fn export_failed(&self, spans: usize, fallback: String) {
        self.dropped_export_failed
            .fetch_add(spans as u64, Ordering::Relaxed);
        if let Ok(mut state) = self.state.lock() {
            state.last_failure = Some(state.pending_failure.take().unwrap_or(fallback));
        }
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
                "mackerel-trace: {endpoint} rejected the API key (HTTP {status}); check that MACKEREL_APIKEY holds a Mackerel API key with Write permission. Spans are dropped until it is accepted."
            );
        }
    }

    /// Prints one line about spans dropped since the last line, unless a line was printed
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
        let mut line = String::from("mackerel-trace: dropped ");
        if queue_full > 0 {
            line.push_str(&format!(
                "{queue_full} spans because the export queue was full (raise OTEL_BSP_MAX_QUEUE_SIZE or record fewer spans)"
            ));
        }
        if failed > 0 {
            if queue_full > 0 {
                line.push_str(" and ");
            }
            line.push_str(&format!("{failed} spans because export failed"));
            if let Some(why) = state.last_failure.take() {
                line.push_str(&format!(": {why}"));
            }
        }
        eprintln!("{line}");
        state.last_report = Some(now);
        state.reported_queue_full = stats.dropped_queue_full;
        state.reported_export_failed = stats.dropped_export_failed;
    }
}
