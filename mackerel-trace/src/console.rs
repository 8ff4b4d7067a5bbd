//! The readable console exporter behind `OTEL_TRACES_EXPORTER=console`.
//!
//! Finished spans are held per trace until the trace's local root ends, then the whole trace
//! is written to stderr as one indented tree (see [`render`] for the layout). A span whose
//! remote parent is still open in this process (a service calling another one in the same
//! program) waits for that parent, so a cross-service trace prints as one tree. Log records
//! (feature `logs`, `OTEL_LOGS_EXPORTER=console`) wait with the span they were written in and
//! print under it.

mod buffer;
#[cfg(feature = "logs")]
mod logs;
mod paint;
mod render;

use std::fmt;
use std::io::{IsTerminal as _, Write};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use opentelemetry::trace::Span as _;
use opentelemetry::{Context, Key};
use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::trace::{Span, SpanData, SpanExporter, SpanProcessor};
use opentelemetry_sdk::Resource;

use buffer::{TraceBuffer, Tree};
#[cfg(feature = "logs")]
pub(crate) use logs::ConsoleLogProcessor;
use render::{format_duration, render_log_line, render_trace, LogLine, RenderOptions};

/// Prints each finished trace to a writer (stderr by default) as an indented tree.
pub(crate) struct ConsoleExporter {
    shared: Arc<Shared>,
    colour: bool,
    service_name: Option<String>,
    duration: fn(Duration) -> String,
    width: usize,
}

/// What the span exporter and the log processor share: where they write, and the buffer in
/// which spans wait for their trace and log records for their span.
struct Shared {
    writer: Mutex<Box<dyn Write + Send>>,
    buffer: Mutex<TraceBuffer>,
}

impl Shared {
    fn new(writer: Box<dyn Write + Send>) -> Arc<Self> {
        Arc::new(Shared {
            writer: Mutex::new(writer),
            buffer: Mutex::new(TraceBuffer::default()),
        })
    }

    fn buffer(&self) -> MutexGuard<'_, TraceBuffer> {
        self.buffer.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// One write per text keeps concurrent traces apart; a console that is gone must not
    /// take the program down, so errors are dropped.
    fn write(&self, text: &str) {
        let mut writer = self.writer.lock().unwrap_or_else(PoisonError::into_inner);
        let _ = writer.write_all(text.as_bytes());
        let _ = writer.flush();
    }

    /// Log records printed on lines of their own.
    fn write_log_lines(&self, logs: &[LogLine], colour: bool) {
        if logs.is_empty() {
            return;
        }
        let mut text = String::new();
        for log in logs {
            render_log_line(log, colour, &mut text);
        }
        self.write(&text);
    }
}

/// Whether stderr takes colour: a terminal, and `NO_COLOR` unset or empty.
fn stderr_colour() -> bool {
    let no_colour = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
    std::io::stderr().is_terminal() && !no_colour
}

impl ConsoleExporter {
    /// Writes to stderr, in colour when stderr is a terminal and `NO_COLOR` is unset or empty.
    pub(crate) fn new() -> Self {
        let mut exporter = Self::with_writer(Box::new(std::io::stderr()), stderr_colour());
        exporter.width = terminal_width();
        exporter
    }

    /// Writes to `writer`, with ANSI colour codes when `colour` is true.
    pub(crate) fn with_writer(writer: Box<dyn Write + Send>, colour: bool) -> Self {
        ConsoleExporter {
            shared: Shared::new(writer),
            colour,
            service_name: None,
            duration: format_duration,
            width: 100,
        }
    }

    /// The log processor that prints records under their spans in this exporter's trees
    /// (feature `logs`).
    #[cfg(feature = "logs")]
    pub(crate) fn log_processor(&self) -> ConsoleLogProcessor {
        ConsoleLogProcessor::new(Arc::clone(&self.shared), self.colour)
    }

    fn print(&self, trees: Vec<Tree>) {
        let options = RenderOptions {
            colour: self.colour,
            service_name: self.service_name.as_deref(),
            duration: self.duration,
            width: self.width,
        };
        for tree in trees {
            self.shared.write(&render_trace(&tree, &options));
        }
    }

    fn print_everything_buffered(&self) {
        let (trees, orphan_logs) = self.shared.buffer().drain();
        self.print(trees);
        self.shared.write_log_lines(&orphan_logs, self.colour);
    }
}

impl fmt::Debug for ConsoleExporter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ConsoleExporter")
            .field("colour", &self.colour)
            .field("service_name", &self.service_name)
            .finish_non_exhaustive()
    }
}

impl SpanExporter for ConsoleExporter {
    async fn export(&self, batch: Vec<SpanData>) -> OTelSdkResult {
        let ready = self.shared.buffer().accept(batch);
        self.print(ready);
        Ok(())
    }

    /// Traces whose root never ended are printed now, as orphan trees, so nothing is lost.
    fn shutdown_with_timeout(&self, _timeout: Duration) -> OTelSdkResult {
        self.print_everything_buffered();
        Ok(())
    }

    fn force_flush(&self) -> OTelSdkResult {
        self.print_everything_buffered();
        Ok(())
    }

    fn set_resource(&mut self, resource: &Resource) {
        self.service_name = resource
            .get(&Key::from_static_str("service.name"))
            .map(|v| v.as_str().into_owned());
    }
}

/// Columns of the terminal stderr writes to: its size when it is one, else `COLUMNS`, else 80.
fn terminal_width() -> usize {
    #[cfg(unix)]
    if std::io::stderr().is_terminal() {
        let mut size = libc::winsize {
            ws_row: 0,
            ws_col: 0,
            ws_xpixel: 0,
            ws_ypixel: 0,
        };
        // SAFETY: TIOCGWINSZ writes one `winsize` into the pointer it is given, which points
        // at a live, writable `winsize`.
        let ok = unsafe { libc::ioctl(libc::STDERR_FILENO, libc::TIOCGWINSZ, &mut size) } == 0;
        if ok && size.ws_col > 0 {
            return usize::from(size.ws_col);
        }
    }
    std::env::var("COLUMNS")
        .ok()
        .and_then(|columns| columns.trim().parse::<usize>().ok())
        .filter(|&columns| columns > 0)
        .unwrap_or(80)
}

/// Hands each finished span to the [`ConsoleExporter`] as it ends (as the SDK's simple
/// processor does) and tells it which spans are still open.
#[derive(Debug)]
pub(crate) struct ConsoleProcessor {
    exporter: ConsoleExporter,
}

impl ConsoleProcessor {
    pub(crate) fn new(exporter: ConsoleExporter) -> Self {
        ConsoleProcessor { exporter }
    }

    fn buffer(&self) -> MutexGuard<'_, TraceBuffer> {
        self.exporter.shared.buffer()
    }
}

impl SpanProcessor for ConsoleProcessor {
    fn on_start(&self, span: &mut Span, _cx: &Context) {
        let id = span.span_context().span_id();
        self.buffer().open.insert(id);
    }

    fn on_end(&self, span: SpanData) {
        let id = span.span_context.span_id();
        if span.span_context.is_sampled() {
            self.buffer().open.remove(&id);
            let _ = futures_executor::block_on(self.exporter.export(vec![span]));
        } else {
            // Never printed: records kept for it print on their own.
            let logs = {
                let mut buffer = self.buffer();
                buffer.open.remove(&id);
                buffer.take_logs(id)
            };
            self.exporter
                .shared
                .write_log_lines(&logs, self.exporter.colour);
        }
    }

    fn force_flush(&self) -> OTelSdkResult {
        self.exporter.force_flush()
    }

    fn shutdown_with_timeout(&self, timeout: Duration) -> OTelSdkResult {
        self.exporter.shutdown_with_timeout(timeout)
    }

    fn set_resource(&mut self, resource: &Resource) {
        self.exporter.set_resource(resource);
    }
}

#[cfg(test)]
mod tests;
