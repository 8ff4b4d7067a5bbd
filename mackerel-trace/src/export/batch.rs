//! The batch processors: application threads hand finished spans ([`spans`]) or log records
//! ([`logs`]) to a bounded queue (never blocking: a full queue drops and counts), one worker
//! thread per signal exports them. A [`ledger`] of what the worker took on and settled lets a
//! shutdown that runs out of time count exactly what it leaves behind as dropped.
//!
//! Ours rather than the SDK's because the SDK's processors have no drop counter, ignore
//! `OTEL_BSP_EXPORT_TIMEOUT`, and cannot cut requests by encoded size: each batch is cut by
//! an upper bound of its encoded size ([`size`](super::size)) before the exporter encodes it.
//! One queue and worker serve both signals; what differs is [`Batched`].

use std::sync::mpsc::{self, Receiver, RecvTimeoutError, SyncSender, TrySendError};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use opentelemetry::{Context, KeyValue};
use opentelemetry_sdk::error::{OTelSdkError, OTelSdkResult};

use super::client::Deadline;
use super::report::Report;
use super::size;
use ledger::Ledger;

mod ledger;
#[cfg(feature = "logs")]
mod logs;
mod spans;

#[cfg(feature = "logs")]
pub(crate) use logs::LogBatchProcessor;
pub(crate) use spans::BatchProcessor;

impl BatchProcessor {
    /// Wakes this processor's export thread to collect the fast path's buffers.
    pub(crate) fn nudger(&self) -> Nudge {
        Nudge(self.queue.nudge())
    }
}

/// An item the worker batches, and how a request of them goes out through an `E`: spans
/// through a `SpanExporter`, log records through a `LogExporter`.
pub(crate) trait Batched<E>: Send + Sized + 'static {
    /// Work left to the export thread when it takes the item from the queue, before the item
    /// is sized.
    fn prepare(&mut self) {}
    /// Items that reached the export thread other than through the queue (the fast path's
    /// per-thread buffers), added to `batch` before each export: about `limit` at most (whole
    /// chunks), so that what waits on the export thread stays bounded. Returns how many.
    fn collect(_batch: &mut Vec<Self>, _limit: usize) -> usize {
        0
    }
    /// Drops what still waits where [`collect`](Self::collect) takes from, when shutdown is
    /// over; returns how many.
    fn discard() -> usize {
        0
    }
    /// An upper bound of the bytes the item adds to a request.
    fn len_bound(&self) -> usize;
    /// An upper bound of the bytes its scope group adds to a request, once per group.
    fn scope_len_bound(&self) -> usize;
    /// Whether `other` lands in the same scope group of a request.
    fn same_scope(&self, other: &Self) -> bool;
    /// One export call: the exporter encodes, posts and retries.
    fn export(exporter: &E, request: Vec<Self>) -> OTelSdkResult;
    fn shutdown(exporter: &E) -> OTelSdkResult;
}

enum Message<T> {
    Item(Box<T>),
    /// Export everything queued before this message, then answer; by `by` when it names a
    /// time still ahead (an invocation's deadline), else within the export timeout.
    Flush(mpsc::Sender<()>, Option<Instant>),
    /// Export everything queued, answer, and stop.
    Shutdown(mpsc::Sender<()>),
    /// Items wait elsewhere ([`Batched::collect`]): a batch of them is ready.
    Collect,
}

/// Wakes a spans export thread to collect what waits in the fast path's buffers.
pub(crate) struct Nudge(SyncSender<Message<opentelemetry_sdk::trace::SpanData>>);

impl Nudge {
    /// Never blocks: with the queue full, the export thread is busy and collects anyway.
    #[inline]
    pub(crate) fn nudge(&self) {
        let _ = self.0.try_send(Message::Collect);
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

/// The queue end held by a processor, and its worker thread.
struct Queue<T> {
    sender: SyncSender<Message<T>>,
    report: Arc<Report>,
    ledger: Arc<Ledger>,
    /// [`Batched::discard`] of `T`.
    discard: fn() -> usize,
    max_queue_size: usize,
    worker: Mutex<Option<JoinHandle<()>>>,
}

impl<T: Send + 'static> Queue<T> {
    fn start<E: Send + 'static>(
        target: ExportTarget<E>,
        config: BatchConfig,
        report: Arc<Report>,
    ) -> Self
    where
        T: Batched<E>,
    {
        let (sender, receiver) = mpsc::sync_channel(config.max_queue_size);
        let worker_report = Arc::clone(&report);
        let ledger = Arc::new(Ledger::default());
        let worker_ledger = Arc::clone(&ledger);
        let worker = std::thread::Builder::new()
            .name(report.signal().thread_name().to_owned())
            .spawn(move || {
                // What the export does (the HTTP client's own logging) must not come back as
                // telemetry to export.
                let _suppressed = Context::enter_telemetry_suppressed_scope();
                Worker::new(target, config, worker_report, worker_ledger).run(&receiver);
            })
            .map_err(|err| eprintln!("mackerel-trace: could not start the export thread: {err}"))
            .ok();
        Queue {
            sender,
            report,
            ledger,
            discard: T::discard,
            max_queue_size: config.max_queue_size,
            worker: Mutex::new(worker),
        }
    }

    /// A handle that wakes the worker to collect.
    fn nudge(&self) -> SyncSender<Message<T>> {
        self.sender.clone()
    }

    /// Called on application threads: never blocks; a full queue drops and counts.
    #[inline]
    fn push(&self, item: Box<T>) {
        if self.sender.try_send(Message::Item(item)).is_ok() {
            self.ledger.queued();
        } else {
            self.report.dropped_queue_full();
        }
    }

    fn force_flush(&self) -> OTelSdkResult {
        control(
            &self.sender,
            |ack| Message::Flush(ack, None),
            Instant::now() + Duration::from_secs(30),
        )
    }

    /// A handle that flushes this queue from anywhere, for as long as the worker runs.
    #[cfg(feature = "lambda")]
    fn flusher(&self) -> Flusher<T> {
        Flusher {
            sender: self.sender.clone(),
        }
    }

    fn shutdown_with_timeout(&self, timeout: Duration) -> OTelSdkResult {
        let deadline = Instant::now() + timeout;
        let result = control(&self.sender, Message::Shutdown, deadline);
        if result.is_ok() {
            if let Some(worker) = self.worker.lock().ok().and_then(|mut w| w.take()) {
                let _ = worker.join();
            }
        }
        // What is not exported by now never will be: in the queue, in the worker's hands (a
        // request in flight included: its answer no longer counts), in the fast path's buffers.
        let left = self.ledger.close(self.discard);
        self.report
            .dropped_at_shutdown(left, result.is_err().then_some(timeout));
        self.report.maybe_print(true);
        result
    }
}

/// Flushes a queue and waits for the answer no later than a deadline, without holding the
/// processor: what the Lambda layer calls after each invocation.
#[cfg(feature = "lambda")]
pub(crate) struct Flusher<T> {
    sender: SyncSender<Message<T>>,
}

#[cfg(feature = "lambda")]
impl<T> Clone for Flusher<T> {
    fn clone(&self) -> Self {
        Flusher {
            sender: self.sender.clone(),
        }
    }
}

#[cfg(feature = "lambda")]
impl<T> std::fmt::Debug for Flusher<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Flusher").finish_non_exhaustive()
    }
}

#[cfg(feature = "lambda")]
impl<T> Flusher<T> {
    /// Exports everything queued so far, each request bounded by `deadline` as well as by the
    /// export timeout; blocks until the worker answers or `deadline` passes.
    pub(crate) fn flush_until(&self, deadline: Instant) -> OTelSdkResult {
        control(
            &self.sender,
            |ack| Message::Flush(ack, Some(deadline)),
            deadline,
        )
    }
}

/// Sends a control message, waiting for queue space no later than `deadline`, then for the
/// worker's answer no later than `deadline`.
fn control<T>(
    sender: &SyncSender<Message<T>>,
    make: impl FnOnce(mpsc::Sender<()>) -> Message<T>,
    deadline: Instant,
) -> OTelSdkResult {
    let (ack, acked) = mpsc::channel();
    let mut message = make(ack);
    loop {
        match sender.try_send(message) {
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

struct Worker<T, E> {
    target: ExportTarget<E>,
    config: BatchConfig,
    report: Arc<Report>,
    ledger: Arc<Ledger>,
    batch: Vec<T>,
    /// The size bound of a request's resource part.
    resource_len: usize,
}

impl<T: Batched<E>, E> Worker<T, E> {
    fn new(
        target: ExportTarget<E>,
        config: BatchConfig,
        report: Arc<Report>,
        ledger: Arc<Ledger>,
    ) -> Self {
        Worker {
            resource_len: size::resource(&target.resource),
            target,
            config,
            report,
            ledger,
            batch: Vec::with_capacity(config.max_export_batch_size),
        }
    }

    fn run(mut self, queue: &Receiver<Message<T>>) {
        let mut next_export = Instant::now() + self.config.schedule_delay;
        loop {
            let wait = next_export.saturating_duration_since(Instant::now());
            match queue.recv_timeout(wait) {
                Ok(Message::Item(mut item)) => {
                    item.prepare();
                    self.batch.push(*item);
                    if self.batch.len() >= self.config.max_export_batch_size {
                        self.export();
                        next_export = Instant::now() + self.config.schedule_delay;
                    }
                }
                Ok(Message::Collect) => {
                    // A thread's buffer holds a batch, maybe many: export up to a queue's
                    // worth before looking at the queue again (a flush may be waiting).
                    self.collect_and_export(None, 1);
                    next_export = Instant::now() + self.config.schedule_delay;
                }
                Ok(Message::Flush(ack, by)) => {
                    self.collect_and_export_all(by);
                    let _ = ack.send(());
                }
                Ok(Message::Shutdown(ack)) => {
                    self.collect_and_export_all(None);
                    let _ = T::shutdown(&self.target.exporter);
                    let _ = ack.send(());
                    return;
                }
                Err(RecvTimeoutError::Timeout) => {
                    self.collect_and_export_all(None);
                    next_export = Instant::now() + self.config.schedule_delay;
                }
                Err(RecvTimeoutError::Disconnected) => {
                    self.collect_and_export_all(None);
                    return;
                }
            }
            self.report.maybe_print(false);
            // Shutdown gave up and counted what was left.
            if self.ledger.is_closed() {
                return;
            }
        }
    }

    /// Collects what waits elsewhere, up to a batch's worth in the batch: what waits on the
    /// export thread stays one batch, however much the application threads buffer.
    fn collect(&mut self) -> usize {
        let room = self
            .config
            .max_export_batch_size
            .saturating_sub(self.batch.len());
        if room == 0 {
            return 0;
        }
        let batch = &mut self.batch;
        self.ledger.collect(|| T::collect(batch, room))
    }

    /// Exports the batch and everything waiting elsewhere, a batch at a time; stops when a
    /// collect comes back short of its room (it took all there was), or after 64 queues' worth
    /// while application threads keep ending spans as fast as they go out.
    fn collect_and_export_all(&mut self, by: Option<Instant>) {
        self.collect_and_export(by, 64);
    }

    /// [`collect_and_export_all`](Self::collect_and_export_all), stopping after `queues`
    /// queues' worth.
    fn collect_and_export(&mut self, by: Option<Instant>, queues: usize) {
        let batch = self.config.max_export_batch_size.max(1);
        let rounds = queues * self.config.max_queue_size.div_ceil(batch);
        for _ in 0..rounds {
            let room = batch.saturating_sub(self.batch.len());
            let collected = self.collect();
            self.export_by(by);
            if room > 0 && collected < room {
                break;
            }
        }
    }

    /// Exports the batch in as many requests as its size bound needs, each within the export
    /// timeout.
    fn export(&mut self) {
        self.export_by(None);
    }

    /// [`export`](Self::export), each request also bounded by `by` when that is still ahead.
    /// A flush whose invocation stopped waiting (its deadline passed while an earlier export
    /// held the worker) still gets the whole export timeout: late beats lost.
    fn export_by(&mut self, by: Option<Instant>) {
        if self.batch.is_empty() {
            return;
        }
        let batch = std::mem::replace(
            &mut self.batch,
            Vec::with_capacity(self.config.max_export_batch_size),
        );
        let limit = self.config.max_request_bytes;
        let mut request: Vec<T> = Vec::new();
        let mut request_len = self.resource_len;
        // Where each scope group of the request starts, to tell a new group.
        let mut groups: Vec<usize> = Vec::new();
        for item in batch {
            let item_len = item.len_bound();
            let scope_len = item.scope_len_bound();
            if self.resource_len + scope_len + item_len > limit {
                let why = format!(
                    "{} of up to {item_len} bytes does not fit in a request of at most {limit} bytes",
                    self.report.signal().one()
                );
                let report = &self.report;
                if !self.ledger.settle(1, || report.export_failed(1, why)) {
                    return;
                }
                continue;
            }
            let new_group = !groups.iter().any(|&first| request[first].same_scope(&item));
            let added = item_len + if new_group { scope_len } else { 0 };
            if request_len + added > limit {
                if !self.send(std::mem::take(&mut request), by) {
                    return;
                }
                request_len = self.resource_len + scope_len + item_len;
                groups.clear();
                groups.push(0);
            } else {
                request_len += added;
                if new_group {
                    groups.push(request.len());
                }
            }
            request.push(item);
        }
        self.send(request, by);
    }

    /// One export call, bounded by the export timeout and by `by` when that is still ahead.
    /// Returns `false` when shutdown gave up meanwhile: the rest is counted already.
    fn send(&mut self, request: Vec<T>, by: Option<Instant>) -> bool {
        if request.is_empty() {
            return true;
        }
        if self.ledger.is_closed() {
            return false;
        }
        let items = request.len();
        let now = Instant::now();
        let timeout = now + self.config.export_timeout;
        let deadline = by
            .filter(|&by| by > now)
            .map_or(timeout, |by| by.min(timeout));
        self.target.deadline.set(deadline);
        // An exporter bug must cost items, never the application: contain any panic here.
        let exported = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            T::export(&self.target.exporter, request)
        }));
        let report = &self.report;
        self.ledger.settle(items, || match exported {
            Ok(Ok(())) => report.exported(items),
            Ok(Err(err)) => report.export_failed(items, err.to_string()),
            Err(_) => report.export_failed(items, "the exporter panicked".to_owned()),
        })
    }
}
