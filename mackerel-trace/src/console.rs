//! The readable console exporter behind `OTEL_TRACES_EXPORTER=console` (SPEC §6).
//!
//! Finished spans are held per trace until the trace's local root ends, then the whole trace
//! is written to stderr as one indented tree (see [`render`] for the layout). A span whose
//! remote parent is still open in this process (a service calling another one in the same
//! program) waits for that parent, so a cross-service trace prints as one tree.

mod paint;
mod render;

use std::collections::{HashMap, HashSet, VecDeque};
use std::fmt;
use std::io::{IsTerminal as _, Write};
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use opentelemetry::trace::{Span as _, SpanId, TraceId};
use opentelemetry::{Context, Key};
use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::trace::{Span, SpanData, SpanExporter, SpanProcessor};
use opentelemetry_sdk::Resource;

use render::{format_duration, render_trace, RenderOptions};

/// Past this many buffered spans the oldest unfinished trace is printed early, as it stands.
const MAX_BUFFERED_SPANS: usize = 10_000;

/// Span ids of already-printed traces remembered so that late children (a spawned task
/// that outlives its parent) are printed as soon as they end, not only at shutdown.
const MAX_REMEMBERED_SPANS: usize = 10_000;

/// Prints each finished trace to a writer (stderr by default) as an indented tree.
pub(crate) struct ConsoleExporter {
    writer: Mutex<Box<dyn Write + Send>>,
    colour: bool,
    service_name: Option<String>,
    duration: fn(Duration) -> String,
    buffer: Mutex<TraceBuffer>,
}

impl ConsoleExporter {
    /// Writes to stderr, in colour when stderr is a terminal and `NO_COLOR` is unset or empty.
    pub(crate) fn new() -> Self {
        let no_colour = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
        let colour = std::io::stderr().is_terminal() && !no_colour;
        Self::with_writer(Box::new(std::io::stderr()), colour)
    }

    /// Writes to `writer`, with ANSI colour codes when `colour` is true.
    pub(crate) fn with_writer(writer: Box<dyn Write + Send>, colour: bool) -> Self {
        ConsoleExporter {
            writer: Mutex::new(writer),
            colour,
            service_name: None,
            duration: format_duration,
            buffer: Mutex::new(TraceBuffer::default()),
        }
    }

    fn print(&self, traces: Vec<Vec<SpanData>>) {
        let options = RenderOptions {
            colour: self.colour,
            service_name: self.service_name.as_deref(),
            duration: self.duration,
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

/// Finished spans waiting for their trace's local root, and what was printed recently.
#[derive(Default)]
struct TraceBuffer {
    /// Spans started and not yet ended in this process (only with [`ConsoleProcessor`]).
    open: HashSet<SpanId>,
    pending: HashMap<TraceId, Pending>,
    buffered: usize,
    next_seq: u64,
    printed: HashMap<TraceId, HashSet<SpanId>>,
    printed_order: VecDeque<TraceId>,
    remembered: usize,
}

struct Pending {
    /// Arrival order of the trace, so the oldest is printed first when the buffer is full.
    seq: u64,
    spans: Vec<SpanData>,
}

impl TraceBuffer {
    /// Takes in finished spans; returns the traces (or subtrees) that are now complete.
    fn accept(&mut self, batch: Vec<SpanData>) -> Vec<Vec<SpanData>> {
        let mut ready = Vec::new();
        for span in batch {
            let trace_id = span.span_context.trace_id();
            let span_id = span.span_context.span_id();
            let is_local_root = span.parent_span_id == SpanId::INVALID
                || (span.parent_span_is_remote && !self.open.contains(&span.parent_span_id))
                || self
                    .printed
                    .get(&trace_id)
                    .is_some_and(|ids| ids.contains(&span.parent_span_id));
            let seq = self.next_seq;
            self.next_seq += 1;
            self.pending
                .entry(trace_id)
                .or_insert_with(|| Pending {
                    seq,
                    spans: Vec::new(),
                })
                .spans
                .push(span);
            self.buffered += 1;
            if is_local_root {
                ready.push(self.take_subtree(trace_id, span_id));
            }
        }
        while self.buffered > MAX_BUFFERED_SPANS {
            let Some(oldest) = self
                .pending
                .iter()
                .min_by_key(|(_, p)| p.seq)
                .map(|(id, _)| *id)
            else {
                break;
            };
            ready.push(self.take_trace(oldest));
        }
        ready
    }

    /// Every buffered span, trace by trace in arrival order.
    fn drain(&mut self) -> Vec<Vec<SpanData>> {
        let mut traces: Vec<(TraceId, u64)> =
            self.pending.iter().map(|(id, p)| (*id, p.seq)).collect();
        traces.sort_by_key(|(_, seq)| *seq);
        traces
            .into_iter()
            .map(|(id, _)| self.take_trace(id))
            .collect()
    }

    /// Removes `root` and its buffered descendants, leaving other subtrees of the trace.
    fn take_subtree(&mut self, trace_id: TraceId, root: SpanId) -> Vec<SpanData> {
        let Some(pending) = self.pending.get_mut(&trace_id) else {
            return Vec::new();
        };
        let mut children: HashMap<SpanId, Vec<SpanId>> = HashMap::new();
        for span in &pending.spans {
            children
                .entry(span.parent_span_id)
                .or_default()
                .push(span.span_context.span_id());
        }
        let mut members = HashSet::from([root]);
        let mut queue = vec![root];
        while let Some(id) = queue.pop() {
            for &child in children.get(&id).into_iter().flatten() {
                if members.insert(child) {
                    queue.push(child);
                }
            }
        }
        let (taken, kept) = pending
            .spans
            .drain(..)
            .partition(|s| members.contains(&s.span_context.span_id()));
        pending.spans = kept;
        if pending.spans.is_empty() {
            self.pending.remove(&trace_id);
        }
        self.finish(trace_id, taken)
    }

    fn take_trace(&mut self, trace_id: TraceId) -> Vec<SpanData> {
        let spans = self
            .pending
            .remove(&trace_id)
            .map(|p| p.spans)
            .unwrap_or_default();
        self.finish(trace_id, spans)
    }

    /// Accounts for spans leaving the buffer and remembers their ids for late children.
    fn finish(&mut self, trace_id: TraceId, spans: Vec<SpanData>) -> Vec<SpanData> {
        self.buffered -= spans.len();
        let ids = self.printed.entry(trace_id).or_insert_with(|| {
            self.printed_order.push_back(trace_id);
            HashSet::new()
        });
        for span in &spans {
            if ids.insert(span.span_context.span_id()) {
                self.remembered += 1;
            }
        }
        while self.remembered > MAX_REMEMBERED_SPANS {
            let Some(oldest) = self.printed_order.pop_front() else {
                break;
            };
            self.remembered -= self.printed.remove(&oldest).map_or(0, |ids| ids.len());
        }
        spans
    }
}

#[cfg(test)]
mod tests;
