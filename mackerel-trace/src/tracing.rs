//! The `tracing` bridge: spans and events of libraries instrumented with `tracing` become
//! spans and span events of the same traces as `#[traced]`, and sqlx queries become DB spans.
//!
//! ```
//! use tracing_subscriber::layer::SubscriberExt as _;
//!
//! let subscriber = tracing_subscriber::registry().with(mackerel_trace::tracing::layer());
//! tracing::subscriber::with_default(subscriber, || {
//!     let _span = tracing::info_span!("load_profile", user.id = %42u64).entered();
//!     tracing::info!(cache = "miss", "fetching");
//! });
//! ```
//!
//! - **One tree.** A `#[traced]` call inside a `tracing` span is its child, a `tracing` span
//!   inside a `#[traced]` call is the traced span's child, across `.await` (with
//!   `Instrument::instrument`) and `tokio::spawn`.
//! - **Typed fields.** Integers stay integers (a `u64` above `i64::MAX` becomes its decimal
//!   string, as with `#[traced]`), floats doubles, booleans booleans, `?debug` and `%display`
//!   strings. `otel.name` renames a span, `otel.kind = "server" | "client" | "producer" |
//!   "consumer"` sets its kind.
//! - **Events** become span events (the `message` is the event's name); an `ERROR` event sets
//!   its span's status to `Error`.
//! - **sqlx queries** (sqlx reports each as a `DEBUG` event with target `sqlx::query`) become
//!   CLIENT spans with `db.query.text` (literals as `?`, bound values never), timed from the
//!   query's real start to its end, children of the span current where the query was issued:
//!   what Mackerel's DB view lists. For SQLite, whose statements run on sqlx's worker thread,
//!   `#[traced]` futures and server spans are shown to `tracing` as `TRACE` spans named
//!   `traced` (target `mackerel_trace::span`), which the worker carries; see
//!   [`LayerBuilder::show_traced_spans`].
//! - **Its own filter.** The layer keeps `INFO` and above plus `sqlx::query` at `DEBUG`,
//!   whatever filter your console layer has; `MACKEREL_TRACE_TRACING` (directives as
//!   `info,my_crate=debug,sqlx::query=off`) or [`LayerBuilder::filter`] changes that. Attach a
//!   console filter to the console layer (`fmt::layer().with_filter(EnvFilter::from_default_env())`),
//!   not to the whole subscriber: a subscriber-wide filter drops spans before any layer sees them.
//! - **The installed pipeline.** Spans go to what `#[mackerel_trace::main]`, [`init`](crate::init)
//!   or [`set_tracer_provider`](crate::set_tracer_provider) installed, looked up per span, so the
//!   layer may be built before the pipeline starts. With nothing installed it records nothing
//!   and costs one check per span. It never installs a subscriber itself.

mod fields;
mod layer;
#[cfg(feature = "logs")]
mod log_record;
#[cfg(feature = "logs")]
pub(crate) use log_record::to_map_body;
pub(crate) mod mirror;
mod sqlx;

use std::sync::OnceLock;

use tracing_subscriber::filter::{Filtered, Targets};
use tracing_subscriber::layer::Layer as _;
use tracing_subscriber::registry::LookupSpan;

use layer::Filters;
pub use layer::{LevelFilter, TracingLayer};

/// The variable that replaces the layer's default filter.
const FILTER_VARIABLE: &str = "MACKEREL_TRACE_TRACING";
/// What the layer keeps unless told otherwise: `INFO` and above, and sqlx's query events.
const DEFAULT_FILTER: &str = "info,sqlx::query=debug";
/// The variable that replaces the default filter of log records.
#[cfg(feature = "logs")]
const LOGS_FILTER_VARIABLE: &str = "MACKEREL_TRACE_LOGS";
/// Which events become log records unless told otherwise.
#[cfg(feature = "logs")]
const DEFAULT_LOGS_FILTER: &str = "info";

/// The layer as [`layer`] and [`LayerBuilder::build`] return it: the bridge with its own filter.
pub type Layer<S> = Filtered<TracingLayer, LevelFilter, S>;

/// The bridge layer with its default filter (or `MACKEREL_TRACE_TRACING`).
///
/// See the [module example](self).
pub fn layer<S>() -> Layer<S>
where
    S: tracing_core::Subscriber + for<'span> LookupSpan<'span>,
{
    LayerBuilder::new().build()
}

/// Builds the bridge layer with options.
///
/// ```
/// use tracing_subscriber::layer::SubscriberExt as _;
///
/// let layer = mackerel_trace::tracing::LayerBuilder::new()
///     .db_system_name("sqlite")
///     .filter("info,my_service=debug,sqlx::query=debug")
///     .build();
/// let _subscriber = tracing_subscriber::registry().with(layer);
/// ```
#[derive(Clone, Debug, Default)]
#[must_use]
pub struct LayerBuilder {
    db_system_name: Option<String>,
    filter: Option<String>,
    no_mirrors: bool,
    #[cfg(feature = "logs")]
    logs_filter: Option<String>,
}

impl LayerBuilder {
    /// The default options.
    pub fn new() -> Self {
        LayerBuilder::default()
    }

    /// `db.system.name` for sqlx query spans (`"postgresql"`, `"mysql"`, `"sqlite"`): sqlx's
    /// event does not say which database ran the query.
    pub fn db_system_name(mut self, name: impl Into<String>) -> Self {
        self.db_system_name = Some(name.into());
        self
    }

    /// The layer's filter as `target=level` directives (`"info,sqlx::query=debug"` by
    /// default); `MACKEREL_TRACE_TRACING` still wins when set.
    pub fn filter(mut self, directives: impl Into<String>) -> Self {
        self.filter = Some(directives.into());
        self
    }

    /// Which events become log records (feature `logs`), as `target=level` directives
    /// (`"info"` by default), apart from the span filter; `MACKEREL_TRACE_LOGS` still wins
    /// when set.
    ///
    /// ```
    /// let layer = mackerel_trace::tracing::LayerBuilder::new()
    ///     .logs_filter("warn,my_service=info")
    ///     .build::<tracing_subscriber::Registry>();
    /// # drop(layer);
    /// ```
    #[cfg(feature = "logs")]
    pub fn logs_filter(mut self, directives: impl Into<String>) -> Self {
        self.logs_filter = Some(directives.into());
        self
    }

    /// Whether `#[traced]` futures and server spans are shown to `tracing` (on by default), so
    /// that what carries `tracing::Span::current()` to another thread carries them: sqlx's
    /// SQLite worker (without it, a SQLite query under a `#[traced]` function with no `tracing`
    /// span around it starts a trace of its own), `Instrument::in_current_span`.
    ///
    /// Showing a span costs a `tracing` span per traced future (about 2,500 instructions, see
    /// BENCHMARKS.md); turn it off when nothing in the service needs it.
    ///
    /// ```
    /// let layer = mackerel_trace::tracing::LayerBuilder::new()
    ///     .show_traced_spans(false)
    ///     .build::<tracing_subscriber::Registry>();
    /// # drop(layer);
    /// ```
    pub fn show_traced_spans(mut self, show: bool) -> Self {
        self.no_mirrors = !show;
        self
    }

    /// The layer, filtered.
    pub fn build<S>(self) -> Layer<S>
    where
        S: tracing_core::Subscriber + for<'span> LookupSpan<'span>,
    {
        let filters = Filters {
            spans: targets(
                FILTER_VARIABLE,
                self.filter.as_deref(),
                "LayerBuilder::filter",
                DEFAULT_FILTER,
            ),
            mirrors: !self.no_mirrors,
            #[cfg(feature = "logs")]
            logs: targets(
                LOGS_FILTER_VARIABLE,
                self.logs_filter.as_deref(),
                "LayerBuilder::logs_filter",
                DEFAULT_LOGS_FILTER,
            ),
        };
        TracingLayer::new(self.db_system_name, filters.clone())
            .with_filter(LevelFilter::new(filters))
    }
}

/// The directives of `variable` when set, else of the builder, else `default`.
fn targets(variable: &str, built: Option<&str>, method: &str, default: &str) -> Targets {
    let from_env = std::env::var(variable)
        .ok()
        .filter(|v| !v.trim().is_empty());
    match (from_env, built) {
        (Some(directives), _) => parse_filter(&directives, variable, default),
        (None, Some(directives)) => parse_filter(directives, method, default),
        (None, None) => default.parse().unwrap_or_default(),
    }
}

/// Parses directives; a mistake is one stderr line naming where it came from, and the default.
fn parse_filter(directives: &str, origin: &str, default: &str) -> Targets {
    match directives.parse::<Targets>() {
        Ok(targets) => targets,
        Err(err) => {
            static REPORTED: OnceLock<()> = OnceLock::new();
            if REPORTED.set(()).is_ok() {
                eprintln!(
                    "mackerel-trace: {origin}: {err}; expected directives such as \"info,my_crate=debug\"; using \"{default}\""
                );
            }
            default.parse().unwrap_or_default()
        }
    }
}
