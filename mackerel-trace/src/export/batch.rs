//! The batch span processor: application threads hand finished spans to a bounded queue
//! (never blocking: a full queue drops and counts), one worker thread exports them.
//!
//! Ours rather than the SDK's because the SDK's processor has no drop counter, ignores
//! `OTEL_BSP_EXPORT_TIMEOUT`, and cannot cut requests by encoded size: each batch is cut by
//! an upper bound of its encoded size ([`size`](super::size)) before the exporter encodes it.

use std::sync::mpsc::{self, Receiver, RecvTimeoutError, SyncSender, TrySendError};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use opentelemetry::{Context, InstrumentationScope, KeyValue};
use opentelemetry_sdk::error::{OTelSdkError, OTelSdkResult};
use opentelemetry_sdk::trace::{Span, SpanData, SpanExporter, SpanProcessor};

use super::client::Deadline;
use super::report::Report;
use super::size;

enum Message {
    Span(Box<SpanData>),
    /// Export everything queued before this message, then answer.
    Flush(mpsc::Sender<()>),
    /// Export everything queued, answer, and stop.
    Shutdown(mpsc::Sender<()>),
}

/// The queue end held by the tracer provider.
pub(crate) struct BatchProcessor {
    queue: SyncSender<Message>,
    report: Arc<Report>,
    max_queue_size: usize,
    worker: Mutex<Option<JoinHandle<()>>>,
}

impl std::fmt::Debug for BatchProcessor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BatchProcessor")
            .field("max_queue_size", &self.max_queue_size)
            .finish_non_exhaustive()
    }
}

/// Batch settings.
#[derive(Clone, Copy, Debug)]
pub(crate) struct BatchConfig {
    pub(crate) max_queue_size: usize,
    pub(crate) max_export_batch_size: usize,
    pub(crate) schedule_delay: Duration,
    /// The most one export may take, retries included.
    pub(crate) export_timeout: Duration,
    /// The most encoded protobuf one request may carry.
    pub(crate) max_request_bytes: usize,
}

/// What the worker needs to cut requests and bound each export in time.
pub(crate) struct ExportTarget<E> {
    pub(crate) exporter: E,
    /// The resource every request carries, for the size bound.
    pub(crate) resource: Vec<KeyValue>,
    /// Shared with the HTTP client, which bounds each attempt by it.
    pub(crate) deadline: Arc<Deadline>,
}

impl BatchProcessor {
    pub(crate) fn start<E: SpanExporter + 'static>(
        target: ExportTarget<E>,
        config: BatchConfig,
        report: Arc<Report>,
    ) -> Self {
        let (queue, receiver) = mpsc::sync_channel(config.max_queue_size);
        let worker_report = Arc::clone(&report);
        let worker = std::thread::Builder::new()
            .name(report.signal().thread_name().to_owned())
            .spawn(move || Worker::new(target, config, worker_report).run(&receiver))
            .map_err(|err| eprintln!("mackerel-trace: could not start the export thread: {err}"))
            .ok();
        BatchProcessor {
            queue,
            report,
            max_queue_size: config.max_queue_size,
            worker: Mutex::new(worker),
        }
    }

    /// Sends a control message, waiting for queue space no later than `deadline`.
    fn control(&self, make: fn(mpsc::Sender<()>) -> Message, deadline: Instant) -> OTelSdkResult {
        let (ack, acked) = mpsc::channel();
        let mut message = make(ack);
        loop {
            match self.queue.try_send(message) {
                Ok(()) => break,
                Err(TrySendError::Disconnected(_)) => return Err(OTelSdkError::AlreadyShutdown),
                Err(TrySendError::Full(back)) => {
                    if Instant::now() >= deadline {
                        return Err(OTelSdkError::Timeout(Duration::ZERO));
                    }
                    message = back;
                    std::thread::sleep(Duration::from_millis(1));
                }
            }
        }
        let wait = deadline.saturating_duration_since(Instant::now());
        match acked.recv_timeout(wait) {
            Ok(()) => Ok(()),
            Err(RecvTimeoutError::Timeout) => Err(OTelSdkError::Timeout(wait)),
            Err(RecvTimeoutError::Disconnected) => Err(OTelSdkError::InternalFailure(
                "the export thread stopped".to_owned(),
            )),
        }
    }
}

impl SpanProcessor for BatchProcessor {
    fn on_start(&self, _span: &mut Span, _cx: &Context) {}

    fn on_end(&self, span: SpanData) {
        if !span.span_context.is_sampled() {
            return;
        }
        if self.queue.try_send(Message::Span(Box::new(span))).is_err() {
            self.report.dropped_queue_full();
        }
    }

    fn force_flush(&self) -> OTelSdkResult {
        self.control(Message::Flush, Instant::now() + Duration::from_secs(30))
    }

    fn shutdown_with_timeout(&self, timeout: Duration) -> OTelSdkResult {
        let deadline = Instant::now() + timeout;
        let result = self.control(Message::Shutdown, deadline);
        if result.is_ok() {
            if let Some(worker) = self.worker.lock().ok().and_then(|mut w| w.take()) {
                let _ = worker.join();
            }
        } else {
            let why = self
                .report
                .pending_failure()
                .map(|why| format!(" (the last attempt: {why})"))
                .unwrap_or_default();
            let items = self.report.signal().items();
            eprintln!(
                "mackerel-trace: flushing {items} at exit did not finish within {} ms{why}; {items} still queued were not sent",
                timeout.as_millis()
            );
        }
        self.report.maybe_print(true);
        result
    }
}

struct Worker<E> {
    target: ExportTarget<E>,
    config: BatchConfig,
    report: Arc<Report>,
    batch: Vec<SpanData>,
    /// The size bound of a request's resource part.
    resource_len: usize,
}

impl<E: SpanExporter> Worker<E> {
    fn new(target: ExportTarget<E>, config: BatchConfig, report: Arc<Report>) -> Self {
        Worker {
            resource_len: size::resource(&target.resource),
            target,
            config,
            report,
            batch: Vec::with_capacity(config.max_export_batch_size),
        }
    }

    fn run(mut self, queue: &Receiver<Message>) {
        let mut next_export = Instant::now() + self.config.schedule_delay;
        loop {
            let wait = next_export.saturating_duration_since(Instant::now());
            match queue.recv_timeout(wait) {
                Ok(Message::Span(span)) => {
                    self.batch.push(*span);
                    if self.batch.len() >= self.config.max_export_batch_size {
                        self.export();
                        next_export = Instant::now() + self.config.schedule_delay;
                    }
                }
                Ok(Message::Flush(ack)) => {
                    self.export();
                    let _ = ack.send(());
                }
                Ok(Message::Shutdown(ack)) => {
                    self.export();
                    let _ = self.target.exporter.shutdown();
                    let _ = ack.send(());
                    return;
                }
                Err(RecvTimeoutError::Timeout) => {
                    self.export();
                    next_export = Instant::now() + self.config.schedule_delay;
                }
                Err(RecvTimeoutError::Disconnected) => {
                    self.export();
                    return;
                }
            }
            self.report.maybe_print(false);
        }
    }

    /// Exports the batch in as many requests as its size bound needs.
    fn export(&mut self) {
        if self.batch.is_empty() {
            return;
        }
        let batch = std::mem::replace(
            &mut self.batch,
            Vec::with_capacity(self.config.max_export_batch_size),
        );
        let limit = self.config.max_request_bytes;
        let mut request = Vec::new();
        let mut request_len = self.resource_len;
        let mut scopes: Vec<InstrumentationScope> = Vec::new();
        for span in batch {
            let span_len = size::span(&span);
            let scope = &span.instrumentation_scope;
            let scope_len = size::scope(scope);
            if self.resource_len + scope_len + span_len > limit {
                self.report.export_failed(
                    1,
                    format!(
                        "{} of up to {span_len} bytes does not fit in a request of at most {limit} bytes",
                        self.report.signal().one()
                    ),
                );
                continue;
            }
            let new_scope = !scopes.contains(scope);
            let added = span_len + if new_scope { scope_len } else { 0 };
            if request_len + added > limit {
                self.send(std::mem::take(&mut request));
                request_len = self.resource_len + scope_len + span_len;
                scopes.clear();
                scopes.push(scope.clone());
            } else {
                request_len += added;
                if new_scope {
                    scopes.push(scope.clone());
                }
            }
            request.push(span);
        }
        self.send(request);
    }

    /// One export call: the exporter encodes, posts and retries within the export timeout.
    fn send(&mut self, request: Vec<SpanData>) {
        if request.is_empty() {
            return;
        }
        let spans = request.len();
        self.target
            .deadline
            .set(Instant::now() + self.config.export_timeout);
        // An exporter bug must cost spans, never the application: contain any panic here.
        let exported = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            futures_executor::block_on(self.target.exporter.export(request))
        }));
        match exported {
            Ok(Ok(())) => self.report.exported(spans),
            Ok(Err(err)) => self.report.export_failed(spans, err.to_string()),
            Err(_) => self
                .report
                .export_failed(spans, "the exporter panicked".to_owned()),
        }
    }
}
