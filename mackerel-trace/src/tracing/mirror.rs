//! A `#[traced]` or server span shown to `tracing` as a span of its own, so that what carries
//! `tracing::Span::current()` to another thread carries the OpenTelemetry span too: sqlx's
//! SQLite worker, `Instrument::in_current_span`, a pool's `interact` with its `tracing` option.
//!
//! The mirror is a `TRACE` span named `traced` with target `mackerel_trace::span` and no
//! fields. It exists only while a subscriber wants it (the bridge layer always does while a
//! pipeline is installed); a console layer filtered at `INFO` never sees it. The bridge layer
//! records no span for it: it remembers the OpenTelemetry context that was current when it was
//! made, and attaches that context wherever the mirror is entered.

use tracing_core::callsite::DefaultCallsite;
use tracing_core::field::{FieldSet, Value};
use tracing_core::metadata::Kind;
use tracing_core::span::{Attributes, Id};
use tracing_core::{dispatcher, Dispatch, Level, Metadata};

static CALLSITE: DefaultCallsite = DefaultCallsite::new(&META);
static META: Metadata<'static> = Metadata::new(
    "traced",
    "mackerel_trace::span",
    Level::TRACE,
    Some(file!()),
    Some(line!()),
    Some(module_path!()),
    FieldSet::new(&[], tracing_core::identify_callsite!(&CALLSITE)),
    Kind::SPAN,
);

/// Whether `meta` is the mirror's.
pub(crate) fn is_mirror(meta: &Metadata<'_>) -> bool {
    std::ptr::eq(meta, &META)
}

/// A `tracing` span standing for the OpenTelemetry span current when it was made.
#[derive(Debug)]
pub(crate) struct Mirror {
    dispatch: Dispatch,
    id: Id,
}

impl Mirror {
    /// A mirror of the current OpenTelemetry context, when the default `tracing` subscriber
    /// wants one (as the `span!` macros decide it: the callsite's interest, then `enabled`).
    #[inline]
    pub(crate) fn of_current() -> Option<Mirror> {
        let interest = CALLSITE.interest();
        if interest.is_never() {
            return None;
        }
        Mirror::make(interest.is_always())
    }

    #[inline(never)]
    fn make(always: bool) -> Option<Mirror> {
        dispatcher::get_default(|dispatch| {
            if !always && !dispatch.enabled(&META) {
                return None;
            }
            let values: [(&tracing_core::field::Field, Option<&dyn Value>); 0] = [];
            let values = META.fields().value_set(&values);
            let id = dispatch.new_span(&Attributes::new(&META, &values));
            Some(Mirror {
                dispatch: dispatch.clone(),
                id,
            })
        })
    }

    /// Enters the mirror until the guard drops.
    #[inline]
    pub(crate) fn enter(&self) -> MirrorEntered<'_> {
        self.dispatch.enter(&self.id);
        MirrorEntered(self)
    }

    /// Enters the mirror until the guard drops, which also closes it.
    #[inline]
    pub(crate) fn enter_owned(self) -> OwnedMirrorEntered {
        self.dispatch.enter(&self.id);
        OwnedMirrorEntered(self)
    }
}

impl Drop for Mirror {
    fn drop(&mut self) {
        self.dispatch.try_close(self.id.clone());
    }
}

/// The mirror entered; dropping exits it.
#[derive(Debug)]
pub(crate) struct MirrorEntered<'a>(&'a Mirror);

impl Drop for MirrorEntered<'_> {
    #[inline]
    fn drop(&mut self) {
        self.0.dispatch.exit(&self.0.id);
    }
}

/// The mirror entered and owned; dropping exits and closes it.
#[derive(Debug)]
pub(crate) struct OwnedMirrorEntered(Mirror);

impl Drop for OwnedMirrorEntered {
    #[inline]
    fn drop(&mut self) {
        self.0.dispatch.exit(&self.0.id);
    }
}
