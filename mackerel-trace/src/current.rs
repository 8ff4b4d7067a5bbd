//! A span made current for `tracing` as well as for OpenTelemetry's `Context`: with the
//! `tracing` feature, a mirror `tracing` span (see `tracing/mirror.rs`), so that
//! `tracing::Span::current()` carries the span to other threads; without it, nothing at all.

#[cfg(feature = "tracing")]
pub(crate) use crate::tracing::mirror::{Mirror, MirrorEntered, OwnedMirrorEntered};

#[cfg(not(feature = "tracing"))]
pub(crate) use off::{Mirror, MirrorEntered, OwnedMirrorEntered};

/// Without the `tracing` feature there is never a mirror: the types are empty and every call
/// compiles to nothing.
#[cfg(not(feature = "tracing"))]
mod off {
    #[derive(Debug)]
    pub(crate) enum Mirror {}

    impl Mirror {
        #[inline(always)]
        pub(crate) fn of_current() -> Option<Mirror> {
            None
        }

        pub(crate) fn enter(&self) -> MirrorEntered<'_> {
            match *self {}
        }

        pub(crate) fn enter_owned(self) -> OwnedMirrorEntered {
            match self {}
        }
    }

    #[derive(Debug)]
    pub(crate) struct MirrorEntered<'a>(#[allow(dead_code)] &'a Mirror);

    #[derive(Debug)]
    pub(crate) struct OwnedMirrorEntered(#[allow(dead_code)] Mirror);
}

/// A future's mirror: made on its first poll (with its span's context attached, which the
/// mirror remembers), entered on every poll, closed with the future.
#[derive(Debug, Default)]
pub(crate) struct MirrorSlot(Option<Mirror>);

impl MirrorSlot {
    /// Enters the mirror until the guard drops; call with the span's context attached.
    #[inline]
    pub(crate) fn enter(&mut self) -> Option<MirrorEntered<'_>> {
        if self.0.is_none() {
            self.0 = Mirror::of_current();
        }
        self.0.as_ref().map(Mirror::enter)
    }
}

/// Enters a new mirror of the current context until the guard drops (which closes it); call
/// with the span's context attached.
#[inline]
pub(crate) fn enter_mirror() -> Option<OwnedMirrorEntered> {
    Mirror::of_current().map(Mirror::enter_owned)
}

/// Wraps `f` so that it runs with the caller's current span current, on whichever thread runs
/// it: `#[traced]` calls, `tracing` spans, DB queries and HTTP calls inside are children of the
/// span that was current where `in_current_span` was called.
///
/// OpenTelemetry's current span lives in a thread-local, so a closure handed to another thread
/// (`tokio::task::spawn_blocking`, `std::thread::spawn`, a thread pool) would otherwise start
/// new traces. For a closure that takes an argument, such as the connection a pool's
/// `interact` passes, use [`in_current_span_with`].
///
/// ```
/// use mackerel_trace::traced;
///
/// #[traced]
/// fn checksum(data: &[u8]) -> u32 {
///     data.iter().map(|&b| u32::from(b)).sum()
/// }
///
/// #[traced]
/// fn handle(data: Vec<u8>) -> u32 {
///     // `checksum`'s span is a child of `handle`'s, although it runs on another thread.
///     std::thread::spawn(mackerel_trace::in_current_span(move || checksum(&data)))
///         .join()
///         .unwrap()
/// }
/// # handle(vec![1, 2, 3]);
/// ```
pub fn in_current_span<F, R>(f: F) -> impl FnOnce() -> R
where
    F: FnOnce() -> R,
{
    let cx = opentelemetry::Context::current();
    move || {
        let _attached = cx.attach();
        let _mirror = enter_mirror();
        f()
    }
}

/// [`in_current_span`] for a closure that takes one argument, such as the connection a pool's
/// `interact` passes to it.
///
/// ```ignore
/// // deadpool-diesel: the query runs on a blocking thread, as a child of the current span.
/// let user = pool
///     .get()
///     .await?
///     .interact(mackerel_trace::in_current_span_with(move |conn: &mut PgConnection| {
///         users::table.find(id).first::<User>(conn)
///     }))
///     .await??;
/// ```
pub fn in_current_span_with<F, A, R>(f: F) -> impl FnOnce(A) -> R
where
    F: FnOnce(A) -> R,
{
    let cx = opentelemetry::Context::current();
    move |argument| {
        let _attached = cx.attach();
        let _mirror = enter_mirror();
        f(argument)
    }
}
