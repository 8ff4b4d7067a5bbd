//! The readable console exporter behind `OTEL_TRACES_EXPORTER=console`.
//!
//! Finished spans are held per trace until the trace's local root ends, then the whole trace
//! is written to stderr as one indented tree (see [`render`] for the layout). A span whose
//! remote parent is still open in this process (a service calling another one in the same
//! program) waits for that parent, so a cross-service trace prints as one tree.

mod buffer;
#[cfg(feature = "logs")]
mod logs;
mod paint;
mod render;

use std::fmt;
use std::io::{IsTerminal as _, Write};
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use opentelemetry::trace::Span as _;
use opentelemetry::{Context, Key};
use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::trace::{Span, SpanData, SpanExporter, SpanProcessor};
use opentelemetry_sdk::Resource;

use buffer::TraceBuffer;
use render::{format_duration, render_trace, RenderOptions};

/// Prints each finished trace to a writer (stderr by default) as an indented tree.
pub(crate) struct ConsoleExporter {
    writer: Mutex<Box<dyn Write + Send>>,
    colour: bool,
    service_name: Option<String>,
    duration: fn(Duration) -> String,
    width: usize,
    buffer: Mutex<TraceBuffer>,
}

impl ConsoleExporter {
    /// Writes to stderr, in colour when stderr is a terminal and `NO_COLOR` is unset or empty.
    pub(crate) fn new() -> Self {
        let no_colour = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
        let colour = std::io::stderr().is_terminal() && !no_colour;
        let mut exporter = Self::with_writer(Box::new(std::io::stderr()), colour);
        exporter.width = terminal_width();
        exporter
    }

    /// Writes to `writer`, with ANSI colour codes when `colour` is true.
    pub(crate) fn with_writer(writer: Box<dyn Write + Send>, colour: bool) -> Self {
        ConsoleExporter {
            writer: Mutex::new(writer),
            colour,
            service_name: None,
            duration: format_duration,
            width: 100,
            buffer: Mutex::new(TraceBuffer::default()),
        }
    }

    fn print(&self, traces: Vec<Vec<SpanData>>) {
        let options = RenderOptions {
            colour: self.colour,
            service_name: self.service_name.as_deref(),
            duration: self.duration,
            width: self.width,
        };
        for spans in traces {
            let text = render_trace(&spans, &options);
            let mut writer = self.writer.lock().unwrap_or_else(PoisonError::into_inner);
            // One write per trace keeps concurrent traces apart; a console that is gone
            // must not take the program down, so errors are dropped.
            let _ = writer.write_all(text.as_bytes());
            let _ = writer.flush();
        }
    }

    fn print_everything_buffered(&self) {
        let traces = self
            .buffer
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .drain();
        self.print(traces);
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
        let ready = self
            .buffer
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .accept(batch);
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
/// The log processor behind `OTEL_LOGS_EXPORTER=console`.
#[cfg(feature = "logs")]
pub(crate) fn console_logs() -> logs::ConsoleLogProcessor {
    logs::ConsoleLogProcessor
}

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

    fn buffer(&self) -> std::sync::MutexGuard<'_, TraceBuffer> {
        self.exporter
            .buffer
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }
}

impl SpanProcessor for ConsoleProcessor {
    fn on_start(&self, span: &mut Span, _cx: &Context) {
        let id = span.span_context().span_id();
        self.buffer().open.insert(id);
    }

    fn on_end(&self, span: SpanData) {
        self.buffer().open.remove(&span.span_context.span_id());
        if span.span_context.is_sampled() {
            let _ = futures_executor::block_on(self.exporter.export(vec![span]));
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
