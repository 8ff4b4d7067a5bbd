//! Finished spans held per trace until the trace's local root ends, so each trace prints as
//! one tree — with the log records written under them (feature `logs`).

use std::collections::{HashMap, HashSet, VecDeque};

use opentelemetry::trace::{SpanId, TraceId};
use opentelemetry_sdk::trace::SpanData;

use super::render::LogLine;

/// Past this many buffered spans the oldest unfinished trace is printed early, as it stands.
pub(super) const MAX_BUFFERED_SPANS: usize = 10_000;

/// Past this many log records waiting for their spans, a record prints on a line of its own.
#[cfg(feature = "logs")]
pub(super) const MAX_BUFFERED_LOGS: usize = 10_000;

/// One trace (or subtree) ready to print: its spans and the log records written under them.
#[derive(Default)]
pub(super) struct Tree {
    pub(super) spans: Vec<SpanData>,
    pub(super) logs: HashMap<SpanId, Vec<LogLine>>,
}

/// Span ids of already-printed traces remembered so that late children (a spawned task
/// that outlives its parent) are printed as soon as they end, not only at shutdown.
const MAX_REMEMBERED_SPANS: usize = 10_000;

/// Finished spans waiting for their trace's local root, and what was printed recently.
#[derive(Default)]
pub(super) struct TraceBuffer {
    /// Spans started and not yet ended in this process (only with [`ConsoleProcessor`](super::ConsoleProcessor)).
    pub(super) open: HashSet<SpanId>,
    pending: HashMap<TraceId, Pending>,
    buffered: usize,
    next_seq: u64,
    printed: HashMap<TraceId, HashSet<SpanId>>,
    printed_order: VecDeque<TraceId>,
    remembered: usize,
    /// Log records of spans still open, printed with their span.
    logs: HashMap<SpanId, Vec<LogLine>>,
    buffered_logs: usize,
}

struct Pending {
    /// Arrival order of the trace, so the oldest is printed first when the buffer is full.
    seq: u64,
    spans: Vec<SpanData>,
}

impl TraceBuffer {
    /// Keeps `log` for the tree of `span`, which must be open here (started by the
    /// [`ConsoleProcessor`](super::ConsoleProcessor) and not ended); otherwise, or with too
    /// many records waiting, hands it back to be printed on its own.
    #[must_use = "a record handed back must be printed"]
    #[cfg(feature = "logs")]
    pub(super) fn attach(&mut self, span: SpanId, log: LogLine) -> Option<LogLine> {
        if !self.open.contains(&span) || self.buffered_logs >= MAX_BUFFERED_LOGS {
            return Some(log);
        }
        self.logs.entry(span).or_default().push(log);
        self.buffered_logs += 1;
        None
    }

    /// The log records kept for `span`, taken out (a span that will never be printed).
    pub(super) fn take_logs(&mut self, span: SpanId) -> Vec<LogLine> {
        let logs = self.logs.remove(&span).unwrap_or_default();
        self.buffered_logs -= logs.len();
        logs
    }

    /// Takes in finished spans; returns the traces (or subtrees) that are now complete.
    pub(super) fn accept(&mut self, batch: Vec<SpanData>) -> Vec<Tree> {
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

    /// Every buffered span, trace by trace in arrival order, and then the log records of
    /// spans that never ended, in the order they were written.
    pub(super) fn drain(&mut self) -> (Vec<Tree>, Vec<LogLine>) {
        let mut traces: Vec<(TraceId, u64)> =
            self.pending.iter().map(|(id, p)| (*id, p.seq)).collect();
        traces.sort_by_key(|(_, seq)| *seq);
        let trees = traces
            .into_iter()
            .map(|(id, _)| self.take_trace(id))
            .collect();
        let mut orphans: Vec<LogLine> = self.logs.drain().flat_map(|(_, logs)| logs).collect();
        orphans.sort_by_key(|log| log.time);
        self.buffered_logs = 0;
        (trees, orphans)
    }

    /// Removes `root` and its buffered descendants, leaving other subtrees of the trace.
    fn take_subtree(&mut self, trace_id: TraceId, root: SpanId) -> Tree {
        let Some(pending) = self.pending.get_mut(&trace_id) else {
            return Tree::default();
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

    fn take_trace(&mut self, trace_id: TraceId) -> Tree {
        let spans = self
            .pending
            .remove(&trace_id)
            .map(|p| p.spans)
            .unwrap_or_default();
        self.finish(trace_id, spans)
    }

    /// Accounts for spans leaving the buffer, takes their log records along and remembers
    /// their ids for late children.
    fn finish(&mut self, trace_id: TraceId, spans: Vec<SpanData>) -> Tree {
        self.buffered -= spans.len();
        let mut logs = HashMap::new();
        if self.buffered_logs > 0 {
            for span in &spans {
                let id = span.span_context.span_id();
                let taken = self.take_logs(id);
                if !taken.is_empty() {
                    logs.insert(id, taken);
                }
            }
        }
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
        Tree { spans, logs }
    }
}
