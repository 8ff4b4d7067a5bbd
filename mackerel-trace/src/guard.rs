//! [`Guard`]: keeps the pipeline running, and flushes and shuts it down at exit, bounded in
//! time; and the `#[main]` runtime half, which never fails the program.

use std::sync::Arc;
use std::time::Duration;

use opentelemetry_sdk::trace::SdkTracerProvider;

use crate::export::report::Report;
use crate::{Error, ExportStats};

/// Keeps the pipeline running; on drop, exports every finished span and shuts down, waiting
/// no longer than the shutdown timeout.
///
/// ```no_run
/// let guard = mackerel_trace::init()?;
/// // ...
/// drop(guard); // flushes now
/// # Ok::<(), mackerel_trace::Error>(())
/// ```
#[must_use = "dropping the guard shuts tracing down at once"]
#[derive(Debug)]
pub struct Guard {
    running: Option<Running>,
    #[cfg(feature = "logs")]
    logs: Option<crate::logs::RunningLogs>,
}

#[derive(Debug)]
struct Running {
    provider: SdkTracerProvider,
    /// The fast path of `#[traced]` spans into `provider`'s exporter, when it has one.
    fast: Option<&'static crate::fast::Pipeline>,
    shutdown_timeout: Duration,
    report: Arc<Report>,
    exit_hint: Option<&'static str>,
}

impl Guard {
    pub(crate) fn new(
        provider: SdkTracerProvider,
        fast: Option<&'static crate::fast::Pipeline>,
        shutdown_timeout: Duration,
        report: Arc<Report>,
        exit_hint: Option<&'static str>,
    ) -> Self {
        Guard {
            running: Some(Running {
                provider,
                fast,
                shutdown_timeout,
                report,
                exit_hint,
            }),
            #[cfg(feature = "logs")]
            logs: None,
        }
    }

    /// A guard for a pipeline that is off: dropping it does nothing.
    pub(crate) fn inert() -> Self {
        Guard {
            running: None,
            #[cfg(feature = "logs")]
            logs: None,
        }
    }

    /// This guard, also flushing and shutting down the logs pipeline `logs`.
    #[cfg(feature = "logs")]
    pub(crate) fn with_logs(mut self, logs: Option<crate::logs::RunningLogs>) -> Self {
        self.logs = logs;
        self
    }

    /// Counts of exported and dropped log records so far (feature `logs`).
    #[cfg(feature = "logs")]
    pub fn log_stats(&self) -> ExportStats {
        self.logs
            .as_ref()
            .map(|logs| logs.report.stats())
            .unwrap_or_default()
    }

    /// Whether spans are being recorded and sent somewhere.
    pub fn is_enabled(&self) -> bool {
        self.running.is_some()
    }

    /// Counts of exported and dropped spans so far.
    pub fn stats(&self) -> ExportStats {
        self.running
            .as_ref()
            .map(|running| running.report.stats())
            .unwrap_or_default()
    }

    /// Exports every span finished so far and waits for the answer.
    ///
    /// # Errors
    ///
    /// When the export thread could not finish within its time.
    pub fn flush(&self) -> Result<(), Error> {
        #[cfg(feature = "logs")]
        if let Some(logs) = &self.logs {
            logs.provider
                .force_flush()
                .map_err(|err| Error::new("Guard::flush", format!("log records: {err}")))?;
        }
        match &self.running {
            Some(running) => running
                .provider
                .force_flush()
                .map_err(|err| Error::new("Guard::flush", err.to_string())),
            None => Ok(()),
        }
    }

    /// Flushes and shuts down now, returning the final counts.
    pub fn shutdown(mut self) -> ExportStats {
        self.stop()
    }

    fn stop(&mut self) -> ExportStats {
        let spent = self.stop_logs();
        let Some(running) = self.running.take() else {
            return ExportStats::default();
        };
        crate::tracer::clear_tracer();
        if let Some(fast) = running.fast {
            // As the SDK drops spans ending after its provider's shutdown began.
            crate::fast::uninstall(fast);
        }
        let left = running.shutdown_timeout.saturating_sub(spent);
        let _ = running.provider.shutdown_with_timeout(left);
        if let Some(hint) = running.exit_hint {
            eprintln!("mackerel-trace: {hint}");
        }
        running.report.stats()
    }
}

impl Guard {
    /// Shuts the logs pipeline down, log records first so that they never wait on spans, within
    /// half the shutdown bound; returns the time it took, which comes off the spans' bound.
    #[cfg(feature = "logs")]
    fn stop_logs(&mut self) -> std::time::Duration {
        let Some(logs) = self.logs.take() else {
            return std::time::Duration::ZERO;
        };
        crate::logs::clear_logger();
        let started = std::time::Instant::now();
        let timeout = self
            .running
            .as_ref()
            .map_or(std::time::Duration::from_secs(5), |r| r.shutdown_timeout);
        let _ = logs.provider.shutdown_with_timeout(timeout / 2);
        started.elapsed()
    }

    #[cfg(not(feature = "logs"))]
    fn stop_logs(&mut self) -> std::time::Duration {
        std::time::Duration::ZERO
    }
}

impl Drop for Guard {
    fn drop(&mut self) {
        self.stop();
    }
}

/// What `#[mackerel_trace::main]` does with the pipeline it started: a bad configuration is one
/// line on stderr, and the program runs with tracing off.
pub fn main_guard(started: Result<Guard, Error>) -> Guard {
    started.unwrap_or_else(|err| {
        eprintln!("mackerel-trace: {err}; tracing is off");
        Guard::inert()
    })
}
