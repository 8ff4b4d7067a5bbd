//! The fast path of `#[traced]` under mackerel-trace's own OTLP pipeline.
//!
//! A traced call's span is a [`FastSpan`]: a recording OpenTelemetry span of our own, current
//! through the ordinary `Context` (so manual child spans, `get_active_span`, `add_event`,
//! `set_status` and `record_error` land on it from any thread holding the context), that
//! carries no SDK machinery: no `SdkTracer` clone, no `SpanBuilder`, no per-span processor
//! calls. Sampling decides as the provider's sampler does (the samplers `pipeline.rs` builds,
//! mirrored); ids come from the SDK's generator; limits are the SDK's, read from the same
//! variables. The integrations' spans (server, client, query, `tracing` spans) take the same
//! path through `tracer::start_span`.
//!
//! When it ends, its [`Record`] goes into a buffer of the thread it ended on: no lock or atomic
//! shared with other application threads per span. `OTEL_BSP_MAX_QUEUE_SIZE` bounds the
//! records waiting in all buffers together, as it bounds the SDK's one queue: a thread takes
//! room from the pipeline's count in blocks of up to [`buffer::RESERVE`] (one shared atomic per
//! block), and the export thread gives it back as it takes records; with no room left a span is
//! dropped and counted. The export thread drains every thread's buffer on its timer, when the
//! records waiting reach a batch (the thread whose block crosses it nudges it), once when the
//! buffers fill, and at flush and shutdown, and turns records into `SpanData` there — the same
//! `SpanData` the SDK would have built, so the same bytes go on the wire. A thread that exits
//! leaves its buffer in the registry until it is drained.
//!
//! A provider installed with [`set_tracer_provider`](crate::set_tracer_provider), and the
//! console, keep the SDK path.

use std::borrow::Cow;
use std::cell::{Cell, OnceCell};
use std::ptr::NonNull;
use std::sync::atomic::{AtomicBool, AtomicPtr, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::SystemTime;

use opentelemetry::trace::{
    Event, Link, SpanContext, SpanId, SpanKind, Status, TraceContextExt as _, TraceFlags, TraceId,
};
use opentelemetry::{Context, InstrumentationScope, Key, KeyValue, StringValue, Value};
use opentelemetry_sdk::trace::{
    IdGenerator as _, RandomIdGenerator, SpanData, SpanEvents, SpanLimits, SpanLinks,
};

use crate::export::batch::Nudge;
use crate::export::report::Report;
use crate::span::CallSite;

/// What the fast path needs of the running pipeline. Leaked when installed, as the tracer is.
pub(crate) struct Pipeline {
    sampler: crate::settings::Sampler,
    limits: SpanLimits,
    scope: InstrumentationScope,
    report: Arc<Report>,
    /// Wakes the export thread when the buffers hold a batch.
    nudge: Nudge,
    /// The buffers hold at most this many records in all (`OTEL_BSP_MAX_QUEUE_SIZE`), as the
    /// SDK's queue does.
    max_buffered: usize,
    /// Room left in the buffers, in records. Threads take it in blocks ([`Pipeline::reserve`])
    /// and the export thread gives it back as it takes records, so that no thread touches it
    /// per span.
    room: AtomicUsize,
    /// Set when a thread found no room, until some comes back: the export thread is woken
    /// once for it, not per dropped span.
    full: AtomicBool,
    /// Records waiting in the buffers that make a batch worth exporting now.
    batch: usize,
    /// Set when the pipeline shuts down: later records are dropped, as the SDK drops spans
    /// ending after its provider's shutdown.
    shut: AtomicBool,
}

impl std::fmt::Debug for Pipeline {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("fast::Pipeline")
            .field("sampler", &self.sampler)
            .field("max_buffered", &self.max_buffered)
            .finish_non_exhaustive()
    }
}

impl Pipeline {
    pub(crate) fn new(
        sampler: crate::settings::Sampler,
        report: Arc<Report>,
        nudge: Nudge,
        max_buffered: usize,
        batch: usize,
    ) -> Self {
        Pipeline {
            sampler,
            limits: span_limits(),
            scope: crate::tracer::scope(),
            report,
            nudge,
            max_buffered: max_buffered.max(1),
            room: AtomicUsize::new(max_buffered.max(1)),
            full: AtomicBool::new(false),
            batch: batch.clamp(1, max_buffered.max(1)),
            shut: AtomicBool::new(false),
        }
    }
}

impl Pipeline {
    /// Takes room for up to [`buffer::RESERVE`] records (less when little is left, so that one
    /// thread cannot hold what others need); 0 when the buffers are full. Wakes the export
    /// thread when the records waiting reach a batch, and once when the buffers fill.
    fn reserve(&self) -> usize {
        let mut free = self.room.load(Ordering::Relaxed);
        loop {
            if free == 0 {
                if !self.full.load(Ordering::Relaxed) && !self.full.swap(true, Ordering::Relaxed) {
                    self.nudge.nudge();
                }
                return 0;
            }
            let take = (free / 8).clamp(1, buffer::RESERVE);
            match self.room.compare_exchange_weak(
                free,
                free - take,
                Ordering::Relaxed,
                Ordering::Relaxed,
            ) {
                Ok(_) => {
                    let waiting = self.max_buffered - (free - take);
                    if waiting >= self.batch && waiting - take < self.batch {
                        self.nudge.nudge();
                    }
                    return take;
                }
                Err(now) => free = now,
            }
        }
    }

    /// Gives back room for `records`.
    fn release(&self, records: usize) {
        if records > 0 {
            self.room.fetch_add(records, Ordering::Relaxed);
            if self.full.load(Ordering::Relaxed) {
                self.full.store(false, Ordering::Relaxed);
            }
        }
    }
}

/// The SDK's span limits, from the variables its default configuration reads.
fn span_limits() -> SpanLimits {
    let mut limits = SpanLimits::default();
    let read = |name: &str| std::env::var(name).ok().and_then(|v| v.parse::<u32>().ok());
    if let Some(n) = read("OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT") {
        limits.max_attributes_per_span = n;
    }
    if let Some(n) = read("OTEL_SPAN_EVENT_COUNT_LIMIT") {
        limits.max_events_per_span = n;
    }
    if let Some(n) = read("OTEL_SPAN_LINK_COUNT_LIMIT") {
        limits.max_links_per_span = n;
    }
    limits
}

static PIPELINE: AtomicPtr<Pipeline> = AtomicPtr::new(std::ptr::null_mut());

/// The installed fast pipeline, or `None`.
#[inline]
pub(crate) fn pipeline() -> Option<&'static Pipeline> {
    let ptr = PIPELINE.load(Ordering::Acquire);
    // SAFETY: non-null pointers stored in PIPELINE come from `Box::leak` and are never freed.
    unsafe { ptr.as_ref() }
}

/// Sends `#[traced]` spans down the fast path of `pipeline`.
pub(crate) fn install(pipeline: Pipeline) -> &'static Pipeline {
    let pipeline: &'static Pipeline = Box::leak(Box::new(pipeline));
    PIPELINE.store(std::ptr::from_ref(pipeline).cast_mut(), Ordering::Release);
    pipeline
}

/// Takes `pipeline` off the fast path (it is shutting down); a later record of it is dropped.
pub(crate) fn uninstall(pipeline: &'static Pipeline) {
    pipeline.shut.store(true, Ordering::Release);
    let _ = PIPELINE.compare_exchange(
        std::ptr::from_ref(pipeline).cast_mut(),
        std::ptr::null_mut(),
        Ordering::AcqRel,
        Ordering::Acquire,
    );
}

/// Takes whatever pipeline is installed off the fast path (another provider replaces it).
pub(crate) fn clear() {
    PIPELINE.store(std::ptr::null_mut(), Ordering::Release);
}

/// A traced call's span as it starts: recording (sampled), or only a span context to make
/// current (sampled out, or telemetry suppressed).
pub(crate) enum Begun {
    Recording(FastSpan),
    NotRecording(SpanContext),
}

/// A traced call's span, started and put in a context of its own, not yet attached.
pub(crate) enum Started {
    /// Sampled: the context, and the span's record for the `record(...)` attributes.
    ///
    /// The record belongs to the span inside the context: it may be written through this
    /// pointer only while that context is neither cloned nor attached, so that nothing else
    /// can reach the span.
    Recording(Context, NonNull<Record>),
    /// Sampled out, or telemetry suppressed: a context carrying only the span context.
    NotRecording(Context),
}

/// Starts the span of `site` under `cx` (the current context) as the SDK tracer would with
/// the pipeline's sampler (same decision, ids, flags and trace state), and makes the context
/// `cx` would become with it: in one borrow of the current context.
#[inline(always)]
pub(crate) fn start(pipeline: &'static Pipeline, site: &'static CallSite, cx: &Context) -> Started {
    let empty;
    let parent = if site.root {
        empty = Context::new();
        &empty
    } else {
        cx
    };
    match begin_span(pipeline, Origin::Site(site), site.kind.clone(), parent) {
        Begun::Recording(span) => {
            let record = span.record.expect("a span just begun has its record");
            Started::Recording(cx.with_span(span), record)
        }
        Begun::NotRecording(span_context) => {
            Started::NotRecording(cx.with_remote_span_context(span_context))
        }
    }
}

/// A span of an integration (a server or client request, a query) under `parent`, named
/// `name`, with `attributes`, started at `start` (now when `None`), as the SDK tracer would
/// start it; the context to make current.
pub(crate) fn start_span(
    pipeline: &'static Pipeline,
    name: Cow<'static, str>,
    kind: SpanKind,
    attributes: Vec<KeyValue>,
    start: Option<SystemTime>,
    parent: &Context,
) -> Context {
    match begin_span(pipeline, Origin::Named(name), kind, parent) {
        Begun::Recording(mut span) => {
            let limit = pipeline.limits.max_attributes_per_span as usize;
            if let Some(record) = span.record_mut() {
                if let Some(start) = start {
                    record.start = start;
                }
                if attributes.len() <= limit {
                    // Kept as they come: no copy.
                    record.attributes.more = attributes;
                } else {
                    for attribute in attributes {
                        record.push_attribute(attribute);
                    }
                }
            }
            parent.with_span(span)
        }
        Begun::NotRecording(span_context) => parent.with_remote_span_context(span_context),
    }
}

#[inline(always)]
fn begin_span(pipeline: &'static Pipeline, origin: Origin, kind: SpanKind, cx: &Context) -> Begun {
    if cx.is_telemetry_suppressed() {
        return Begun::NotRecording(SpanContext::empty_context());
    }
    let parent = cx.span();
    let parent = parent.span_context();
    let root = !parent.is_valid();
    let (new_trace_id, span_id) = buffer::ids(root);
    let (trace_id, parent_flags, parent_span_id, parent_is_remote) = if root {
        (new_trace_id, TraceFlags::default(), SpanId::INVALID, false)
    } else {
        (
            parent.trace_id(),
            parent.trace_flags(),
            parent.span_id(),
            parent.is_remote(),
        )
    };
    // The SDK's samplers keep the parent's trace state and add no attributes.
    let trace_state = parent.trace_state().clone();
    if !sampled(pipeline.sampler, cx, trace_id) {
        return Begun::NotRecording(SpanContext::new(
            trace_id,
            span_id,
            TraceFlags::default(),
            false,
            trace_state,
        ));
    }
    let span_context = SpanContext::new(
        trace_id,
        span_id,
        parent_flags.with_sampled(true),
        false,
        trace_state,
    );
    let record = buffer::boxed(|| Record {
        pipeline,
        origin,
        kind,
        span_context,
        parent_span_id,
        parent_is_remote,
        start: opentelemetry::time::now(),
        end: SystemTime::UNIX_EPOCH,
        attributes: Attributes::default(),
        dropped_attributes: 0,
        extras: None,
    });
    Begun::Recording(FastSpan {
        record: Some(record),
    })
}

/// The SDK sampler's decision for `sampler` (as `pipeline.rs` builds it) under `cx`.
#[inline]
fn sampled(sampler: crate::settings::Sampler, cx: &Context, trace_id: TraceId) -> bool {
    use crate::settings::Sampler as S;
    let root = match sampler {
        S::AlwaysOn => return true,
        S::AlwaysOff => return false,
        S::TraceIdRatio(ratio) => return by_ratio(ratio, trace_id),
        // ParentBased: an active span decides (even an invalid one, as the SDK has it).
        S::ParentBasedAlwaysOn | S::ParentBasedAlwaysOff | S::ParentBasedTraceIdRatio(_)
            if cx.has_active_span() =>
        {
            return cx.span().span_context().is_sampled();
        }
        S::ParentBasedAlwaysOn => return true,
        S::ParentBasedAlwaysOff => return false,
        S::ParentBasedTraceIdRatio(ratio) => ratio,
    };
    by_ratio(root, trace_id)
}

/// `TraceIdRatioBased`, as the SDK computes it from the trace id's low 64 bits.
fn by_ratio(ratio: f64, trace_id: TraceId) -> bool {
    if ratio >= 1.0 {
        return true;
    }
    let upper_bound = (ratio.max(0.0) * (1u64 << 63) as f64) as u64;
    let bytes = trace_id.to_bytes();
    let low = u64::from_be_bytes([
        bytes[8], bytes[9], bytes[10], bytes[11], bytes[12], bytes[13], bytes[14], bytes[15],
    ]);
    (low >> 1) < upper_bound
}

/// A finished span as the calling thread keeps it until the export thread takes it.
pub(crate) struct Record {
    pipeline: &'static Pipeline,
    origin: Origin,
    kind: SpanKind,
    span_context: SpanContext,
    parent_span_id: SpanId,
    parent_is_remote: bool,
    start: SystemTime,
    end: SystemTime,
    /// Attributes beyond the call site's `code.*` ones.
    attributes: Attributes,
    dropped_attributes: u32,
    /// What fewer spans have: a status, events, links, a new name.
    extras: Option<Box<Extras>>,
}

/// What a span is of, and named after.
enum Origin {
    /// A traced function.
    Site(&'static CallSite),
    /// An integration's span (a server or client request, a query), and its name.
    Named(Cow<'static, str>),
}

impl std::fmt::Debug for Record {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("fast::Record")
            .field("span_context", &self.span_context)
            .finish_non_exhaustive()
    }
}

#[derive(Default)]
struct Extras {
    status: Status,
    /// The status is `Error` with the exception's message as its description (kept once, in
    /// `exception`, until the span is exported).
    status_is_exception: bool,
    /// The failure `record_error` wrote in one step, when it did (see [`with_failure`]).
    exception: Option<Exception>,
    name: Option<Cow<'static, str>>,
    events: SpanEvents,
    links: SpanLinks,
}

/// How many attributes a span keeps in itself before it allocates.
const INLINE_ATTRIBUTES: usize = 3;

/// Strings up to this many bytes are kept in the span itself.
const SHORT_TEXT: usize = 22;

/// A span's attributes: the first few in the span itself (short strings included), the rest
/// in a `Vec`, in the order they were set.
#[derive(Default)]
struct Attributes {
    inline: [Option<(Key, Stored)>; INLINE_ATTRIBUTES],
    len: u8,
    more: Vec<KeyValue>,
}

/// A string of up to [`SHORT_TEXT`] bytes kept in place.
#[derive(Clone, Copy)]
pub(crate) struct ShortText {
    len: u8,
    bytes: [u8; SHORT_TEXT],
}

impl ShortText {
    const EMPTY: ShortText = ShortText {
        len: 0,
        bytes: [0; SHORT_TEXT],
    };

    /// `text` kept in place, when it is short.
    #[inline]
    fn new(text: &str) -> Option<ShortText> {
        let mut short = ShortText::EMPTY;
        short.push(text).then_some(short)
    }

    /// Appends `text` when it fits; `false` (and nothing appended) when not.
    #[inline]
    fn push(&mut self, text: &str) -> bool {
        let at = usize::from(self.len);
        if at + text.len() > SHORT_TEXT {
            return false;
        }
        self.bytes[at..at + text.len()].copy_from_slice(text.as_bytes());
        self.len += text.len() as u8;
        true
    }

    fn as_str(&self) -> &str {
        // SAFETY: only whole `&str`s are copied in (`push`), so the bytes up to `len` are UTF-8.
        unsafe { std::str::from_utf8_unchecked(&self.bytes[..usize::from(self.len)]) }
    }
}

/// An attribute value as a span keeps it.
enum Stored {
    Short(ShortText),
    Value(Value),
}

impl Stored {
    fn into_value(self) -> Value {
        match self {
            Stored::Short(short) => Value::String(StringValue::from(short.as_str().to_owned())),
            Stored::Value(value) => value,
        }
    }
}

impl Attributes {
    #[inline]
    fn len(&self) -> usize {
        usize::from(self.len) + self.more.len()
    }

    #[inline]
    fn push(&mut self, key: Key, value: Stored) {
        let at = usize::from(self.len);
        if at < INLINE_ATTRIBUTES {
            debug_assert!(self.inline[at].is_none());
            // SAFETY: the slots from `len` on are `None`: overwriting one drops nothing.
            unsafe { std::ptr::write(&mut self.inline[at], Some((key, value))) };
            self.len += 1;
        } else {
            self.more.push(KeyValue::new(key, value.into_value()));
        }
    }

    fn into_key_values(self, out: &mut Vec<KeyValue>) {
        for (key, value) in self.inline.into_iter().flatten() {
            out.push(KeyValue::new(key, value.into_value()));
        }
        out.extend(self.more);
    }
}

/// The span of one `#[traced]` call while it runs; see the [module docs](self).
///
/// Small, so that making it current (which moves it into a box) copies little: its record
/// lives in a box of the thread's pool. When the span ends, the record moves into the
/// thread's buffer and the box goes back to the pool of the thread it ended on.
pub(crate) struct FastSpan {
    /// The record, owned (a `Box<Record>` taken apart); `None` once ended.
    record: Option<NonNull<Record>>,
}

// SAFETY: `FastSpan` owns its record as a `Box` would (nothing else points to it once the span
// is shared), and `Record` is `Send`. `&FastSpan` reads only whether the record is there and
// its span context, which no `&mut FastSpan` changes.
unsafe impl Send for FastSpan {}
// SAFETY: as above; the record is reached only through `&mut FastSpan`.
unsafe impl Sync for FastSpan {}

// What the two impls above rely on, checked: a record may move to, and be dropped on, another
// thread.
const _: fn() = || {
    fn send_and_sync<T: Send + Sync>() {}
    send_and_sync::<Record>();
};

impl std::fmt::Debug for FastSpan {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FastSpan")
            .field(
                "span_context",
                opentelemetry::trace::Span::span_context(self),
            )
            .field("ended", &self.record.is_none())
            .finish_non_exhaustive()
    }
}

/// `code.function.name`, `code.file.path`, `code.line.number`.
const CODE_ATTRIBUTES: usize = 3;

impl Record {
    /// Adds `attribute` within the attribute limit, which counts the `code.*` ones.
    #[inline]
    pub(crate) fn push_attribute(&mut self, attribute: KeyValue) {
        if self.has_room() {
            self.attributes
                .push(attribute.key, Stored::Value(attribute.value));
        }
    }

    /// Adds the attribute `key` = `value` within the attribute limit.
    #[inline]
    pub(crate) fn push_value(&mut self, key: &'static str, value: Value) {
        if self.has_room() {
            self.attributes
                .push(Key::from_static_str(key), Stored::Value(value));
        }
    }

    /// Adds the string attribute `key` = `text` (cut as strings are), kept in the record
    /// without an allocation when it is short.
    #[inline]
    pub(crate) fn push_text(&mut self, key: &'static str, text: &str) {
        if self.has_room() {
            let value = match ShortText::new(text) {
                Some(short) => Stored::Short(short),
                None => Stored::Value(Value::String(crate::value::cut_str(text))),
            };
            self.attributes.push(Key::from_static_str(key), value);
        }
    }

    /// Whether one more attribute fits the limit; counts it as dropped when not.
    #[inline]
    fn has_room(&mut self) -> bool {
        let limit = self.pipeline.limits.max_attributes_per_span as usize;
        let code = if matches!(self.origin, Origin::Site(_)) {
            CODE_ATTRIBUTES
        } else {
            0
        };
        if code + self.attributes.len() < limit {
            true
        } else {
            self.dropped_attributes += 1;
            false
        }
    }
}

impl Record {
    /// Sets the status as the SDK does: `Ok` > `Error` > `Unset`, two errors ordered by their
    /// descriptions; `Unset` changes nothing.
    fn set_status(&mut self, status: Status) {
        if status == Status::Unset {
            return;
        }
        let extras = self.extras.get_or_insert_with(Box::default);
        if outranks(&status, &extras.status, extras.status_text()) {
            extras.status = status;
            extras.status_is_exception = false;
        }
    }

    /// Records `failure` as [`record_error`](crate::exception::record_error) does on any span,
    /// `error_type` first: the attribute, the `exception` event (kept as it is, made into an
    /// `Event` on the export thread), status `Error` with the message.
    fn fail(&mut self, error_type: KeyValue, failure: Failure) {
        self.push_attribute(error_type);
        let time = opentelemetry::time::now();
        let limits = self.pipeline.limits;
        self.extras
            .get_or_insert_with(Box::default)
            .fail(failure, time, &limits);
    }
}

impl Extras {
    /// The description of an `Error` status kept in the exception.
    fn status_text(&self) -> Option<&str> {
        match &self.exception {
            Some(exception) if self.status_is_exception => Some(exception.failure.message.as_str()),
            _ => None,
        }
    }

    /// Events so far, the exception's included.
    fn event_count(&self) -> usize {
        self.events.events.len() + usize::from(self.exception.is_some())
    }

    fn fail(&mut self, failure: Failure, time: SystemTime, limits: &SpanLimits) {
        let room = self.event_count() < limits.max_events_per_span as usize;
        // Compared with the message as the description, which is not copied to do it.
        let takes_status = match &self.status {
            Status::Error { description } => {
                failure.message.as_str() > self.status_text().unwrap_or(description)
            }
            Status::Ok => false,
            Status::Unset => true,
        };
        if room && self.exception.is_none() {
            self.exception = Some(Exception {
                failure,
                time,
                events_before: self.events.events.len() as u32,
            });
            if takes_status {
                self.status = Status::Error {
                    description: Cow::Borrowed(""),
                };
                self.status_is_exception = true;
            }
            return;
        }
        // A second failure on one span, or no room for its event: the long way, as rare as it
        // is.
        let (mut attributes, message) = failure.into_event();
        if room {
            let dropped = cap(&mut attributes, limits.max_attributes_per_event);
            self.events
                .events
                .push(Event::new("exception", time, attributes, dropped));
        } else {
            self.events.dropped_count += 1;
        }
        if takes_status {
            self.status = Status::error(message);
            self.status_is_exception = false;
        }
    }
}

/// Whether `new` replaces `current` (whose description is `current_text` when it is kept
/// elsewhere), in the SDK's order: `Ok` > `Error` > `Unset`, errors by description.
fn outranks(new: &Status, current: &Status, current_text: Option<&str>) -> bool {
    match (new, current) {
        (Status::Error { description: new }, Status::Error { description }) => {
            new.as_ref() > current_text.unwrap_or(description.as_ref())
        }
        _ => new > current,
    }
}

/// A failure as [`record_error`](crate::exception::record_error) records it: `error.type`,
/// the `exception` event's attributes, and the status description (the message).
pub(crate) struct Failure {
    pub(crate) type_name: StringValue,
    pub(crate) message: Text,
    /// The `source()` chain; `None` when it would only repeat the message.
    pub(crate) stacktrace: Option<String>,
}

impl Failure {
    /// The `exception` event's attributes, and the message (the status description).
    pub(crate) fn into_event(self) -> (Vec<KeyValue>, String) {
        let message = self.message.into_string();
        let attributes =
            crate::exception::exception_attributes(self.type_name, &message, self.stacktrace);
        (Vec::from(attributes), message)
    }
}

/// The `exception` event of a [`Failure`], as a record keeps it.
struct Exception {
    failure: Failure,
    time: SystemTime,
    /// Where it goes among the span's other events.
    events_before: u32,
}

impl Exception {
    /// The event, and the message (the status description when the status is the exception's).
    fn into_event(self, limits: &SpanLimits) -> (Event, String) {
        let (mut attributes, message) = self.failure.into_event();
        let dropped = cap(&mut attributes, limits.max_attributes_per_event);
        (
            Event::new("exception", self.time, attributes, dropped),
            message,
        )
    }
}

std::thread_local! {
    /// The failure [`with_failure`] hands to a fast span, for the length of one call.
    static FAILURE: std::cell::Cell<Option<Failure>> = const { std::cell::Cell::new(None) };
}

/// Runs `set_error_type` (a span's `set_attribute` of `error.type`) with `failure` at hand:
/// a fast span takes it there and records the whole failure in one step, under the one lock
/// of that call. Returns the failure when nothing took it (an SDK span, a span not recording):
/// the caller records the rest the long way.
pub(crate) fn with_failure(failure: Failure, set_error_type: impl FnOnce()) -> Option<Failure> {
    let mut failure = Some(failure);
    if FAILURE.try_with(|slot| slot.set(failure.take())).is_err() {
        // The thread is being torn down: the long way.
        set_error_type();
        return failure;
    }
    set_error_type();
    take_failure()
}

fn take_failure() -> Option<Failure> {
    FAILURE.try_with(Cell::take).ok().flatten()
}

/// Text kept in place when it is short, and in a `String` when not; at most
/// [`MAX_STRING_BYTES`](crate::value::MAX_STRING_BYTES), cut as strings are.
pub(crate) enum Text {
    Short(ShortText),
    Long(String),
}

impl Text {
    /// `value` formatted, cut to [`MAX_STRING_BYTES`](crate::value::MAX_STRING_BYTES) without
    /// formatting the rest; allocates only when it is long.
    pub(crate) fn format(value: std::fmt::Arguments<'_>) -> Text {
        let mut text = Text::Short(ShortText::EMPTY);
        let _ = std::fmt::write(&mut text, value);
        text
    }

    pub(crate) fn as_str(&self) -> &str {
        match self {
            Text::Short(short) => short.as_str(),
            Text::Long(text) => text,
        }
    }

    pub(crate) fn into_string(self) -> String {
        match self {
            Text::Short(short) => short.as_str().to_owned(),
            Text::Long(text) => text,
        }
    }
}

impl From<String> for Text {
    fn from(text: String) -> Self {
        Text::Long(text)
    }
}

impl std::fmt::Write for Text {
    fn write_str(&mut self, s: &str) -> std::fmt::Result {
        let len = self.as_str().len();
        let room = crate::value::MAX_STRING_BYTES.saturating_sub(len);
        let cut = crate::value::cut_to(s, room);
        match self {
            Text::Short(short) => {
                if !short.push(cut) {
                    let mut long = String::with_capacity((len + cut.len()).max(64));
                    long.push_str(short.as_str());
                    long.push_str(cut);
                    *self = Text::Long(long);
                }
            }
            Text::Long(text) => text.push_str(cut),
        }
        if cut.len() < s.len() {
            // Stops the formatter: the rest would be cut anyway.
            return Err(std::fmt::Error);
        }
        Ok(())
    }
}

impl FastSpan {
    /// The record; `None` once ended.
    #[inline]
    fn record_mut(&mut self) -> Option<&mut Record> {
        // SAFETY: the span owns its record (see the `Send` impl): `&mut self` is the only way
        // to it.
        self.record.map(|record| unsafe { &mut *record.as_ptr() })
    }

    /// The record's rarer parts, and the span limits; `None` once ended.
    fn extras(&mut self) -> Option<(&mut Extras, SpanLimits)> {
        let record = self.record_mut()?;
        let limits = record.pipeline.limits;
        Some((record.extras.get_or_insert_with(Box::default), limits))
    }

    fn finish(&mut self, end: SystemTime) {
        if let Some(record) = self.record.take() {
            // SAFETY: the span owned the record, and gives it up here.
            unsafe { buffer::finish(record, end) };
        }
    }
}

impl opentelemetry::trace::Span for FastSpan {
    fn add_event_with_timestamp<T>(
        &mut self,
        name: T,
        timestamp: SystemTime,
        mut attributes: Vec<KeyValue>,
    ) where
        T: Into<Cow<'static, str>>,
    {
        let Some((extras, limits)) = self.extras() else {
            return;
        };
        let count = extras.event_count();
        let events = &mut extras.events;
        if count < limits.max_events_per_span as usize {
            let dropped = cap(&mut attributes, limits.max_attributes_per_event);
            events
                .events
                .push(Event::new(name, timestamp, attributes, dropped));
        } else {
            events.dropped_count += 1;
        }
    }

    /// The record's (the span's context is kept once, there); empty once the span ended.
    /// The `Context` holding the span keeps its own copy, taken when the span was put in it:
    /// this is read only then.
    fn span_context(&self) -> &SpanContext {
        match self.record {
            // SAFETY: the record is live while the span holds it, and its span context is never
            // written after the record is made (see the `Sync` impl).
            Some(record) => unsafe { &(*record.as_ptr()).span_context },
            None => &SpanContext::NONE,
        }
    }

    fn is_recording(&self) -> bool {
        self.record.is_some()
    }

    fn set_attribute(&mut self, attribute: KeyValue) {
        if let Some(record) = self.record_mut() {
            if attribute.key == crate::exception::ERROR_TYPE {
                if let Some(failure) = take_failure() {
                    return record.fail(attribute, failure);
                }
            }
            record.push_attribute(attribute);
        }
    }

    fn set_status(&mut self, status: Status) {
        if let Some(record) = self.record_mut() {
            record.set_status(status);
        }
    }

    fn update_name<T>(&mut self, new_name: T)
    where
        T: Into<Cow<'static, str>>,
    {
        if let Some((extras, _)) = self.extras() {
            extras.name = Some(new_name.into());
        }
    }

    fn add_link(&mut self, span_context: SpanContext, mut attributes: Vec<KeyValue>) {
        let Some((extras, limits)) = self.extras() else {
            return;
        };
        let links = &mut extras.links;
        if links.links.len() < limits.max_links_per_span as usize {
            let dropped = cap(&mut attributes, limits.max_attributes_per_link);
            links
                .links
                .push(Link::new(span_context, attributes, dropped));
        } else {
            links.dropped_count += 1;
        }
    }

    fn end_with_timestamp(&mut self, timestamp: SystemTime) {
        self.finish(timestamp);
    }
}

/// Cuts an event's or a link's `attributes` to `limit`, as the SDK does; returns how many went.
fn cap(attributes: &mut Vec<KeyValue>, limit: u32) -> u32 {
    let limit = limit as usize;
    let dropped = attributes.len().saturating_sub(limit);
    attributes.truncate(limit);
    dropped as u32
}

impl Drop for FastSpan {
    /// A span never ended explicitly ends when its last context goes, as an SDK span does.
    fn drop(&mut self) {
        if self.record.is_some() {
            self.finish(opentelemetry::time::now());
        }
    }
}

impl Record {
    /// The `SpanData` the SDK would have built for this span. On the export thread.
    fn into_span_data(self) -> SpanData {
        let limits = self.pipeline.limits;
        let mut attributes = Vec::with_capacity(CODE_ATTRIBUTES + self.attributes.len());
        let origin_name = match self.origin {
            Origin::Site(site) => {
                attributes.extend(site.code_attributes());
                Cow::Borrowed(site.name)
            }
            Origin::Named(name) => name,
        };
        self.attributes.into_key_values(&mut attributes);
        let mut dropped_attributes_count = self.dropped_attributes;
        let limit = limits.max_attributes_per_span as usize;
        if attributes.len() > limit {
            dropped_attributes_count += (attributes.len() - limit) as u32;
            attributes.truncate(limit);
        }
        let Extras {
            mut status,
            status_is_exception,
            exception,
            name,
            mut events,
            links,
        } = self.extras.map(|extras| *extras).unwrap_or_default();
        if let Some(exception) = exception {
            let at = (exception.events_before as usize).min(events.events.len());
            let (event, message) = exception.into_event(&limits);
            events.events.insert(at, event);
            if status_is_exception {
                status = Status::error(message);
            }
        }
        SpanData {
            span_context: self.span_context,
            parent_span_id: self.parent_span_id,
            parent_span_is_remote: self.parent_is_remote,
            span_kind: self.kind,
            name: name.unwrap_or(origin_name),
            start_time: self.start,
            end_time: self.end,
            attributes,
            dropped_attributes_count,
            events,
            links,
            status,
            instrumentation_scope: self.pipeline.scope.clone(),
        }
    }
}

/// Drains every thread's finished records into `batch`, as `SpanData`. On the export thread.
pub(crate) fn drain(batch: &mut Vec<SpanData>, limit: usize) -> usize {
    buffer::drain(limit, |record| batch.push(record.into_span_data()))
}

/// Per-thread buffers of finished records, the registry the export thread drains, and the
/// per-thread pools of boxes records live in while their spans run.
mod buffer {
    use std::cell::RefCell;
    use std::collections::VecDeque;
    use std::mem::MaybeUninit;

    use rand::rngs::SmallRng;
    use rand::{Rng as _, SeedableRng as _};

    use super::*;

    /// An emptied record box, to be filled again.
    type Spare = Box<MaybeUninit<Record>>;

    /// One thread's finished records. Its lock is taken by that thread per span and by the
    /// export thread when it drains: never by another application thread.
    #[derive(Default)]
    pub(super) struct ThreadBuffer {
        inner: Mutex<Inner>,
    }

    #[derive(Default)]
    struct Inner {
        /// Finished records in chunks of [`CHUNK`]: a full chunk is set aside and a new one
        /// started, so that a growing buffer never copies what it holds.
        current: Vec<Record>,
        full: VecDeque<Vec<Record>>,
        len: usize,
        /// Room this thread took from a pipeline and has not filled yet.
        reserved: Option<(&'static Pipeline, usize)>,
    }

    impl Inner {
        /// Gives back the room this thread holds and has not used.
        fn give_back(&mut self) {
            if let Some((pipeline, left)) = self.reserved.take() {
                pipeline.release(left);
            }
        }

        /// Takes one record's room from `pipeline`: from what this thread holds, or a new
        /// block. `false` when the buffers are full.
        fn take_room(&mut self, pipeline: &'static Pipeline) -> bool {
            match &mut self.reserved {
                Some((held, left)) if std::ptr::eq(*held, pipeline) && *left > 0 => {
                    *left -= 1;
                    return true;
                }
                _ => self.give_back(),
            }
            match pipeline.reserve() {
                0 => false,
                got => {
                    self.reserved = Some((pipeline, got - 1));
                    true
                }
            }
        }
    }

    /// Room a thread takes from its pipeline at a time: one shared atomic per this many
    /// spans, at most this much idle per thread between drains.
    pub(super) const RESERVE: usize = 64;

    /// Records per chunk (about 85 KiB).
    const CHUNK: usize = 256;

    /// Emptied boxes a thread keeps for its next spans: more than spans nest, so that a thread
    /// whose spans start and end on it allocates none.
    const POOL: usize = 64;

    static REGISTRY: Mutex<Vec<Arc<ThreadBuffer>>> = Mutex::new(Vec::new());

    /// Records of spans that ended while their thread was being torn down (a future dropped by
    /// a thread-local's destructor), when the thread's own buffer is gone: shared, but rare.
    static ORPHANS: Mutex<Vec<Record>> = Mutex::new(Vec::new());

    struct Local {
        buffer: OnceCell<Arc<ThreadBuffer>>,
        pool: RefCell<Vec<Spare>>,
        rng: RefCell<SmallRng>,
    }

    impl Default for Local {
        fn default() -> Self {
            Local {
                buffer: OnceCell::new(),
                pool: RefCell::new(Vec::with_capacity(POOL)),
                rng: RefCell::new(SmallRng::from_os_rng()),
            }
        }
    }

    thread_local! {
        static LOCAL: Local = Local::default();
    }

    fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
        mutex.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn register() -> Arc<ThreadBuffer> {
        let buffer = Arc::new(ThreadBuffer::default());
        lock(&REGISTRY).push(Arc::clone(&buffer));
        buffer
    }

    /// A new span id, and a new trace id when `root` (else invalid), as the SDK's
    /// `RandomIdGenerator` makes them: from a per-thread `SmallRng` seeded by the OS.
    #[inline(always)]
    pub(super) fn ids(root: bool) -> (TraceId, SpanId) {
        let ids = LOCAL.try_with(|local| {
            let mut rng = local.rng.try_borrow_mut().ok()?;
            let span_id = SpanId::from(rng.random::<u64>());
            let trace_id = if root {
                TraceId::from(rng.random::<u128>())
            } else {
                TraceId::INVALID
            };
            Some((trace_id, span_id))
        });
        match ids {
            Ok(Some(ids)) => ids,
            // The thread is being torn down.
            _ => {
                let ids = RandomIdGenerator::default();
                let trace_id = if root {
                    ids.new_trace_id()
                } else {
                    TraceId::INVALID
                };
                (trace_id, ids.new_span_id())
            }
        }
    }

    /// The record `make` makes, in a box of this thread's pool (a new one when the pool is
    /// empty), owned by the caller as a `Box<Record>` would be; given up through [`finish`].
    #[inline(always)]
    pub(super) fn boxed(make: impl FnOnce() -> Record) -> NonNull<Record> {
        let spare = LOCAL
            .try_with(|local| local.pool.try_borrow_mut().ok()?.pop())
            .ok()
            .flatten();
        let mut spare = spare.unwrap_or_else(Box::new_uninit);
        spare.write(make());
        NonNull::from(Box::leak(spare)).cast()
    }

    enum Pushed {
        Done,
        /// The buffer is full: the record stays where it is, to be dropped.
        Full,
    }

    /// Ends the span of `record` at `end`: moves the record into this thread's buffer (a full
    /// buffer drops it, counted) and its box into this thread's pool.
    ///
    /// # Safety
    ///
    /// `record` comes from [`boxed`], is live, and its owner gives it up.
    #[inline]
    pub(super) unsafe fn finish(record: NonNull<Record>, end: SystemTime) {
        // SAFETY: live and ours (the caller's contract).
        let pipeline = unsafe {
            (*record.as_ptr()).end = end;
            (*record.as_ptr()).pipeline
        };
        // SAFETY, for the `Box::from_raw`s below: `record` comes from a `Box` (`boxed`), and
        // is turned back into one exactly once on each path.
        if pipeline.shut.load(Ordering::Acquire) {
            drop(unsafe { Box::from_raw(record.as_ptr()) });
            return;
        }
        let pushed = LOCAL.try_with(|local| {
            let buffer = local.buffer.get_or_init(register);
            let mut inner = lock(&buffer.inner);
            if !inner.take_room(pipeline) {
                return Pushed::Full;
            }
            if inner.current.len() == inner.current.capacity() {
                let full = std::mem::replace(&mut inner.current, Vec::with_capacity(CHUNK));
                if !full.is_empty() {
                    inner.full.push_back(full);
                }
            }
            let at = inner.current.len();
            // SAFETY: there is room at `at` (checked above); the record is moved out of its box
            // here, once, and the box is then only memory.
            unsafe {
                inner
                    .current
                    .as_mut_ptr()
                    .add(at)
                    .copy_from_nonoverlapping(record.as_ptr(), 1);
                inner.current.set_len(at + 1);
            }
            inner.len += 1;
            drop(inner);
            let spare: Spare = unsafe { Box::from_raw(record.as_ptr().cast()) };
            if let Ok(mut pool) = local.pool.try_borrow_mut() {
                if pool.len() < POOL {
                    pool.push(spare);
                }
            }
            Pushed::Done
        });
        match pushed {
            Ok(Pushed::Done) => {}
            Ok(Pushed::Full) => {
                drop(unsafe { Box::from_raw(record.as_ptr()) });
                pipeline.report.dropped_queue_full();
            }
            // The thread is being torn down and its buffer is gone.
            Err(_) => {
                let record = *unsafe { Box::from_raw(record.as_ptr()) };
                let mut orphans = lock(&ORPHANS);
                if orphans.len() < pipeline.max_buffered {
                    orphans.push(record);
                } else {
                    drop(orphans);
                    pipeline.report.dropped_queue_full();
                }
            }
        }
    }

    /// Hands buffered records to `take`, oldest chunks first, until about `limit` (whole
    /// chunks), and forgets the buffers of threads that are gone once they are empty. Returns
    /// how many records it took.
    pub(super) fn drain(limit: usize, mut take: impl FnMut(Record)) -> usize {
        let buffers: Vec<Arc<ThreadBuffer>> = lock(&REGISTRY).clone();
        let mut taken = 0;
        {
            let mut orphans = lock(&ORPHANS);
            let n = orphans.len().min(limit);
            for record in orphans.drain(..n) {
                take(record);
            }
            taken += n;
        }
        for buffer in &buffers {
            if taken >= limit {
                break;
            }
            let chunks = {
                let mut inner = lock(&buffer.inner);
                // Room a thread holds goes back at each drain: an idle thread keeps none.
                inner.give_back();
                let mut chunks = Vec::new();
                let mut count = 0;
                while taken + count < limit {
                    let Some(chunk) = inner.full.pop_front() else {
                        break;
                    };
                    count += chunk.len();
                    chunks.push(chunk);
                }
                if taken + count < limit && !inner.current.is_empty() {
                    let chunk = std::mem::take(&mut inner.current);
                    count += chunk.len();
                    chunks.push(chunk);
                }
                inner.len -= count;
                chunks
            };
            // The room the records took goes back to their pipeline (almost always one).
            let mut held: Option<(&'static Pipeline, usize)> = None;
            for record in chunks.into_iter().flatten() {
                match &mut held {
                    Some((pipeline, count)) if std::ptr::eq(*pipeline, record.pipeline) => {
                        *count += 1;
                    }
                    _ => {
                        if let Some((pipeline, count)) = held {
                            pipeline.release(count);
                        }
                        held = Some((record.pipeline, 1));
                    }
                }
                take(record);
                taken += 1;
            }
            if let Some((pipeline, count)) = held {
                pipeline.release(count);
            }
        }
        drop(buffers);
        // Held by the registry, and by its thread while the thread lives: the buffer of a
        // thread that exited goes once it is empty.
        lock(&REGISTRY)
            .retain(|buffer| Arc::strong_count(buffer) > 1 || lock(&buffer.inner).len > 0);
        taken
    }
}

/// Drops every finished record still buffered, when shutdown is over; returns how many.
pub(crate) fn discard() -> usize {
    buffer::drain(usize::MAX, drop)
}

#[cfg(test)]
mod tests {
    use super::Text;

    #[test]
    fn text_is_kept_in_place_until_it_is_long_and_cut_as_strings_are() {
        let short = Text::format(format_args!("{}-{}", "it", 42));
        assert!(matches!(short, Text::Short { .. }));
        assert_eq!(short.as_str(), "it-42");

        let pieces = ["0123456789", "0123456789", "0123456789"];
        let long = Text::format(format_args!("{}{}{}", pieces[0], pieces[1], pieces[2]));
        assert!(matches!(long, Text::Long(_)));
        assert_eq!(long.as_str(), pieces.concat());

        // 4096 bytes at most, on a char boundary: "é" is 2 bytes, "x" makes the cut odd.
        let cut = Text::format(format_args!("x{}", "é".repeat(3000)));
        let expected = format!("x{}", "é".repeat(2047));
        assert_eq!(cut.as_str(), expected);
        assert_eq!(cut.into_string().len(), 4095);
    }
}
