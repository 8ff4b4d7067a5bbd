//! The layer: a `tracing` span's life (new, record, enter, exit, close) mirrored by an
//! OpenTelemetry span on the installed tracer, current while the `tracing` span is entered.

use std::borrow::Cow;
use std::cell::RefCell;

use opentelemetry::trace::{SpanKind, Status, TraceContextExt as _};
use opentelemetry::{Context, ContextGuard, KeyValue};
use tracing_core::span::{Attributes, Id, Record};
use tracing_core::subscriber::Interest;
use tracing_core::{Event, Level, Metadata, Subscriber};
use tracing_subscriber::filter::Targets;
use tracing_subscriber::layer::{self, Context as LayerContext};
use tracing_subscriber::registry::LookupSpan;

use super::fields::Fields;
use super::mirror;
use crate::tracer;

/// The bridge from `tracing` to the mackerel-trace pipeline; see the [module docs](super).
/// Made by [`layer`](super::layer) or [`LayerBuilder`](super::LayerBuilder), with its filter.
#[derive(Debug)]
pub struct TracingLayer {
    db_system_name: Option<String>,
    filters: Filters,
}

impl TracingLayer {
    pub(super) fn new(db_system_name: Option<String>, filters: Filters) -> Self {
        TracingLayer {
            db_system_name,
            filters,
        }
    }
}

/// What the layer keeps: spans and span events by the span directives (and the mirrors of
/// `#[traced]` futures), log records by the logs directives — each only while its pipeline is
/// installed.
#[derive(Clone, Debug)]
pub(super) struct Filters {
    pub(super) spans: Targets,
    pub(super) mirrors: bool,
    #[cfg(feature = "logs")]
    pub(super) logs: Targets,
}

impl Filters {
    /// The span directives' answer, and always yes to the mirror of a `#[traced]` or server
    /// span, whatever their level says: without it a query on sqlx's SQLite worker loses its
    /// parent.
    fn spans_want(&self, meta: &Metadata<'_>) -> bool {
        tracer::tracer().is_some()
            && if mirror::is_mirror(meta) {
                self.mirrors
            } else {
                self.spans.would_enable(meta.target(), meta.level())
            }
    }

    /// Whether the event `meta` describes becomes a log record.
    #[cfg(feature = "logs")]
    fn logs_want(&self, meta: &Metadata<'_>) -> bool {
        meta.is_event()
            && crate::logs::logger().is_some()
            && self.logs.would_enable(meta.target(), meta.level())
    }

    fn wants(&self, meta: &Metadata<'_>) -> bool {
        if is_opentelemetry_diagnostic(meta) {
            return false;
        }
        #[cfg(feature = "logs")]
        if self.logs_want(meta) {
            return true;
        }
        self.spans_want(meta)
    }

    fn max_level_hint(&self) -> tracing_core::LevelFilter {
        let off = tracing_core::LevelFilter::OFF;
        let spans = if tracer::tracer().is_some() {
            hint(&self.spans)
        } else {
            off
        };
        #[cfg(feature = "logs")]
        let spans = if crate::logs::logger().is_some() {
            spans.max(hint(&self.logs))
        } else {
            spans
        };
        spans
    }
}

/// The layer's own filter: its directives, and nothing at all while no pipeline is installed.
///
/// Off, every callsite's interest is `never` and the level hint `OFF`, so a `tracing` span
/// costs what it costs with no subscriber (a per-layer filter that merely answers "no" still
/// lets the registry create the span). Installing or clearing a pipeline rebuilds tracing's
/// interest cache.
#[derive(Debug)]
pub struct LevelFilter {
    filters: Filters,
}

impl LevelFilter {
    pub(super) fn new(filters: Filters) -> Self {
        LevelFilter { filters }
    }

    fn wants(&self, meta: &Metadata<'_>) -> bool {
        self.filters.wants(meta)
    }
}

impl<S> layer::Filter<S> for LevelFilter {
    fn enabled(&self, meta: &Metadata<'_>, _cx: &LayerContext<'_, S>) -> bool {
        self.wants(meta)
    }

    fn callsite_enabled(&self, meta: &'static Metadata<'static>) -> Interest {
        if self.wants(meta) {
            Interest::always()
        } else {
            Interest::never()
        }
    }

    fn max_level_hint(&self) -> Option<tracing_core::LevelFilter> {
        Some(self.filters.max_level_hint())
    }
}

/// OpenTelemetry's own diagnostics: the events its crates emit when any crate in the build turns
/// on their `internal-logs` feature (targets `opentelemetry`, `opentelemetry_sdk`,
/// `opentelemetry-otlp`, ...). Never the application's telemetry, and a failing export's report
/// exported as a log record would feed on itself.
fn is_opentelemetry_diagnostic(meta: &Metadata<'_>) -> bool {
    meta.is_event() && meta.target().starts_with("opentelemetry")
}

/// The most verbose level `targets` enables.
fn hint(targets: &Targets) -> tracing_core::LevelFilter {
    layer::Filter::<tracing_subscriber::Registry>::max_level_hint(targets)
        .unwrap_or(tracing_core::LevelFilter::TRACE)
}

/// What the layer keeps in a `tracing` span's extensions: the OpenTelemetry context whose
/// current span mirrors it, and whether the layer started that span (and so ends it) or the
/// span is a `#[traced]` or server span shown to `tracing` (see `mirror.rs`).
struct Mirrored {
    cx: Context,
    owned: bool,
}

thread_local! {
    /// Contexts attached by `on_enter`, detached by the matching `on_exit` on this thread.
    static ENTERED: RefCell<Vec<(Id, ContextGuard)>> = const { RefCell::new(Vec::new()) };
}

impl<S> tracing_subscriber::Layer<S> for TracingLayer
where
    S: Subscriber + for<'span> LookupSpan<'span>,
{
    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, ctx: LayerContext<'_, S>) {
        let Some(tracer) = tracer::tracer() else {
            return;
        };
        let Some(span) = ctx.span(id) else {
            return;
        };
        let meta = attrs.metadata();
        if mirror::is_mirror(meta) {
            span.extensions_mut().insert(Mirrored {
                cx: Context::current(),
                owned: false,
            });
            return;
        }
        let mut fields = Fields::span(meta);
        attrs.record(&mut fields);
        let parent = if let Some(parent) = attrs.parent() {
            mirrored(&ctx, parent).unwrap_or_else(Context::current)
        } else if attrs.is_contextual() {
            // The nearest entered span, `tracing` or `#[traced]`: entering attaches.
            Context::current()
        } else {
            Context::new()
        };
        let name = fields
            .name
            .take()
            .map_or(Cow::Borrowed(meta.name()), Cow::Owned);
        let cx = tracer::start_span(
            tracer,
            name,
            fields.kind.clone().unwrap_or(SpanKind::Internal),
            std::mem::take(&mut fields.attributes),
            None,
            &parent,
        );
        span.extensions_mut().insert(Mirrored { cx, owned: true });
    }

    fn on_record(&self, id: &Id, values: &Record<'_>, ctx: LayerContext<'_, S>) {
        let Some(cx) = mirrored(&ctx, id) else {
            return;
        };
        let mut fields = Fields::record();
        values.record(&mut fields);
        let span = cx.span();
        if let Some(name) = fields.name {
            span.update_name(name);
        }
        for attribute in fields.attributes {
            span.set_attribute(attribute);
        }
    }

    fn on_enter(&self, id: &Id, ctx: LayerContext<'_, S>) {
        let Some(span) = ctx.span(id) else {
            return;
        };
        let cx = {
            let extensions = span.extensions();
            let Some(mirrored) = extensions.get::<Mirrored>() else {
                return;
            };
            // A mirror entered where its span is already current (the thread polling the
            // `#[traced]` future): nothing to attach. Elsewhere (sqlx's worker) it attaches.
            let span_id = mirrored.cx.span().span_context().span_id();
            if !mirrored.owned
                && Context::map_current(|cx| cx.span().span_context().span_id() == span_id)
            {
                return;
            }
            mirrored.cx.clone()
        };
        {
            let guard = cx.attach();
            let _ = ENTERED.try_with(|entered| entered.borrow_mut().push((id.clone(), guard)));
        }
    }

    fn on_exit(&self, id: &Id, _ctx: LayerContext<'_, S>) {
        let _ = ENTERED.try_with(|entered| {
            let mut entered = entered.borrow_mut();
            if let Some(index) = entered.iter().rposition(|(entered, _)| entered == id) {
                let (_, guard) = entered.remove(index);
                drop(entered);
                drop(guard);
            }
        });
    }

    fn on_close(&self, id: Id, ctx: LayerContext<'_, S>) {
        let Some(span) = ctx.span(&id) else {
            return;
        };
        let mirrored = span.extensions_mut().remove::<Mirrored>();
        if let Some(Mirrored { cx, owned: true }) = mirrored {
            cx.span().end();
        }
    }

    fn on_event(&self, event: &Event<'_>, ctx: LayerContext<'_, S>) {
        let meta = event.metadata();
        if is_opentelemetry_diagnostic(meta) {
            return;
        }
        let spans = self.filters.spans_want(meta);
        #[cfg(feature = "logs")]
        let logger = crate::logs::logger().filter(|_| self.filters.logs_want(meta));
        #[cfg(not(feature = "logs"))]
        let logger: Option<()> = None;
        if !spans && logger.is_none() {
            return;
        }
        // An event with an explicit parent goes there; any other to the current context, which
        // entering a `tracing` span attaches, and which may be a `#[traced]` span inside it.
        let parent = event
            .parent()
            .and_then(|id| mirrored(&ctx, id))
            .unwrap_or_else(Context::current);
        #[cfg(feature = "logs")]
        let time = logger.map(|logger| super::log_record::emit(logger, event, &parent));
        #[cfg(not(feature = "logs"))]
        let time: Option<std::time::SystemTime> = None;
        if !spans {
            return;
        }
        if meta.target() == "sqlx::query" {
            super::sqlx::record_query(event, &parent, self.db_system_name.as_deref());
            return;
        }
        let span = parent.span();
        if !span.is_recording() {
            return;
        }
        let mut fields = Fields::event();
        event.record(&mut fields);
        let name = fields
            .message
            .clone()
            .map_or(Cow::Borrowed(meta.name()), Cow::Owned);
        if *meta.level() == Level::ERROR {
            span.set_status(Status::error(name.clone()));
        }
        let mut attributes = fields.attributes;
        attributes.push(KeyValue::new("level", meta.level().as_str()));
        // The same instant as the event's log record, which the console shows in its place.
        match time {
            Some(time) => span.add_event_with_timestamp(name, time, attributes),
            None => span.add_event(name, attributes),
        }
    }
}

/// The context mirroring the `tracing` span `id`, when the layer recorded it.
fn mirrored<S>(ctx: &LayerContext<'_, S>, id: &Id) -> Option<Context>
where
    S: Subscriber + for<'span> LookupSpan<'span>,
{
    let span = ctx.span(id)?;
    let extensions = span.extensions();
    extensions
        .get::<Mirrored>()
        .map(|mirrored| mirrored.cx.clone())
}
