//! [`Settings`]: the configuration once code, environment and defaults are merged and
//! validated, and the small types its options take.

use std::fmt;
use std::time::Duration;

use opentelemetry::KeyValue;

use crate::secret::{ApiKey, Secret};

/// Where Mackerel receives traces when no endpoint is configured.
pub const MACKEREL_ENDPOINT: &str = "https://otlp-vaxila.mackerelio.com/v1/traces";

/// Where Mackerel receives log records when no endpoint is configured (feature `logs`).
#[cfg(feature = "logs")]
pub const MACKEREL_LOGS_ENDPOINT: &str = "https://otlp-vaxila.mackerelio.com/v1/logs";

/// Request body compression for OTLP export.
///
/// ```
/// let config = mackerel_trace::Config::new().compression(mackerel_trace::Compression::Gzip);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Compression {
    /// gzip at level 1 (the default; Mackerel accepts it): bodies about 2.4× smaller.
    #[default]
    Gzip,
    /// Uncompressed protobuf.
    None,
}

/// Which traces are recorded (the `OTEL_TRACES_SAMPLER` values).
///
/// ```
/// let config = mackerel_trace::Config::new().sampler(mackerel_trace::Sampler::TraceIdRatio(0.25));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Default)]
pub enum Sampler {
    /// Record every trace.
    AlwaysOn,
    /// Record nothing; traced calls cost one branch.
    AlwaysOff,
    /// Record this fraction of traces, chosen by trace id.
    TraceIdRatio(f64),
    /// Follow the parent's decision; record every new trace (the default).
    #[default]
    ParentBasedAlwaysOn,
    /// Follow the parent's decision; record no new trace.
    ParentBasedAlwaysOff,
    /// Follow the parent's decision; record this fraction of new traces.
    ParentBasedTraceIdRatio(f64),
}

/// Where finished spans go.
///
/// ```
/// use mackerel_trace::{Config, Destination};
/// let settings = Config::new().with_env_vars([("OTEL_TRACES_EXPORTER", "console")]).resolve().unwrap();
/// assert_eq!(settings.destination(), &Destination::Console);
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Destination {
    /// Mackerel's OTLP endpoint ([`MACKEREL_ENDPOINT`](MACKEREL_ENDPOINT)).
    Mackerel,
    /// An OTLP/HTTP endpoint given in code or the environment, such as a Collector.
    Endpoint(String),
    /// Readable trees on stderr.
    Console,
    /// Nothing is recorded.
    Off(OffReason),
}

/// Why tracing is off.
///
/// ```
/// use mackerel_trace::{Config, Destination, OffReason};
/// let settings = Config::new().with_env_vars([("OTEL_SDK_DISABLED", "true")]).resolve().unwrap();
/// assert_eq!(settings.destination(), &Destination::Off(OffReason::Disabled));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OffReason {
    /// `OTEL_SDK_DISABLED=true`.
    Disabled,
    /// `OTEL_TRACES_EXPORTER=none`.
    ExporterNone,
    /// Neither an endpoint nor an API key is set.
    NoDestination,
}

/// W3C propagators named by `OTEL_PROPAGATORS`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Propagator {
    TraceContext,
    Baggage,
}

/// The configuration after code, environment and defaults are merged and validated.
///
/// Built by [`Config::resolve`](crate::Config::resolve); [`Config::init`](crate::Config::init)
/// starts the pipeline from it.
///
/// ```
/// let settings = mackerel_trace::Config::new()
///     .endpoint("http://localhost:4318/v1/traces")
///     .resolve()
///     .unwrap();
/// assert_eq!(settings.endpoint(), Some("http://localhost:4318/v1/traces"));
/// ```
#[derive(Clone, Debug)]
pub struct Settings {
    pub(crate) destination: Destination,
    /// The proxy export requests go through; `None` to connect directly.
    pub(crate) proxy: Option<Proxy>,
    pub(crate) api_key: Option<ApiKey>,
    pub(crate) headers: Vec<(String, Secret)>,
    pub(crate) compression: Compression,
    pub(crate) export_timeout: Duration,
    pub(crate) bsp_export_timeout: Duration,
    pub(crate) shutdown_timeout: Duration,
    pub(crate) sampler: Sampler,
    pub(crate) schedule_delay: Duration,
    pub(crate) max_queue_size: usize,
    pub(crate) max_export_batch_size: usize,
    pub(crate) propagators: Vec<Propagator>,
    pub(crate) resource: Vec<KeyValue>,
    /// A notice for stderr when tracing is off for a reason the user may not expect.
    pub(crate) notice: Option<&'static str>,
    /// A line for stderr after the last trace is printed, saying what to set up next.
    pub(crate) exit_hint: Option<&'static str>,
    /// Where log records go, and how.
    #[cfg(feature = "logs")]
    pub(crate) logs: LogSettings,
}

/// The logs signal's part of [`Settings`] (feature `logs`): its destination and the options
/// that may differ from the traces' (`OTEL_EXPORTER_OTLP_LOGS_*`, `OTEL_BLRP_*`).
#[cfg(feature = "logs")]
#[derive(Clone, Debug)]
pub(crate) struct LogSettings {
    pub(crate) destination: Destination,
    pub(crate) proxy: Option<Proxy>,
    pub(crate) headers: Vec<(String, Secret)>,
    pub(crate) compression: Compression,
    pub(crate) export_timeout: Duration,
    pub(crate) blrp_export_timeout: Duration,
    pub(crate) schedule_delay: Duration,
    pub(crate) max_queue_size: usize,
    pub(crate) max_export_batch_size: usize,
    /// Why logs are off when the user may expect them on.
    pub(crate) notice: Option<String>,
}

impl Settings {
    /// Where spans go.
    pub fn destination(&self) -> &Destination {
        &self.destination
    }

    /// The URL spans are posted to, when they are exported over OTLP.
    pub fn endpoint(&self) -> Option<&str> {
        match &self.destination {
            Destination::Mackerel => Some(MACKEREL_ENDPOINT),
            Destination::Endpoint(url) => Some(url),
            Destination::Console | Destination::Off(_) => None,
        }
    }

    /// Whether spans are recorded at all.
    pub fn is_enabled(&self) -> bool {
        !matches!(self.destination, Destination::Off(_)) && self.sampler != Sampler::AlwaysOff
    }

    /// Whether a Mackerel API key is configured (the key itself is not accessible).
    pub fn has_api_key(&self) -> bool {
        self.api_key.is_some()
    }

    /// The resource attribute `key`, if set.
    pub fn resource_attribute(&self, key: &str) -> Option<String> {
        self.resource
            .iter()
            .find(|kv| kv.key.as_str() == key)
            .map(|kv| kv.value.as_str().into_owned())
    }

    /// The export timeout (per export, retries included).
    pub fn export_timeout(&self) -> Duration {
        self.export_timeout
    }

    /// The sampler.
    pub fn sampler(&self) -> Sampler {
        self.sampler
    }

    /// Request body compression.
    pub fn compression(&self) -> Compression {
        self.compression
    }

    /// How long a finished span may wait before it is sent.
    pub fn schedule_delay(&self) -> Duration {
        self.schedule_delay
    }

    /// How many finished spans may wait to be sent.
    pub fn max_queue_size(&self) -> usize {
        self.max_queue_size
    }

    /// At most this many spans per request.
    pub fn max_export_batch_size(&self) -> usize {
        self.max_export_batch_size
    }

    /// The cap on one export, retries included (`OTEL_BSP_EXPORT_TIMEOUT`).
    pub fn batch_export_timeout(&self) -> Duration {
        self.bsp_export_timeout
    }

    /// The proxy export requests go through, as `host:port`, or `None` when they go directly
    /// (no proxy variable for the endpoint's scheme, or `NO_PROXY` names its host).
    ///
    /// ```
    /// let settings = mackerel_trace::Config::new()
    ///     .endpoint("http://localhost:4318/v1/traces")
    ///     .with_env_vars([("HTTPS_PROXY", "http://proxy.corp:3128")])
    ///     .resolve()
    ///     .unwrap();
    /// assert_eq!(settings.proxy(), None); // HTTPS_PROXY never applies to http://
    /// ```
    pub fn proxy(&self) -> Option<String> {
        self.proxy
            .as_ref()
            .map(|proxy| format!("{}:{}", proxy.host, proxy.port))
    }

    /// The names of the extra headers sent with every request (their values stay private).
    pub fn header_names(&self) -> Vec<&str> {
        self.headers.iter().map(|(name, _)| name.as_str()).collect()
    }

    /// Where log records go (feature `logs`).
    ///
    /// ```
    /// use mackerel_trace::{Config, Destination};
    /// let settings = Config::new()
    ///     .with_env_vars([("OTEL_EXPORTER_OTLP_ENDPOINT", "http://localhost:4318")])
    ///     .resolve()
    ///     .unwrap();
    /// assert_eq!(
    ///     settings.logs_destination(),
    ///     &Destination::Endpoint("http://localhost:4318/v1/logs".to_owned())
    /// );
    /// ```
    #[cfg(feature = "logs")]
    pub fn logs_destination(&self) -> &Destination {
        &self.logs.destination
    }

    /// The URL log records are posted to, when they are exported over OTLP (feature `logs`).
    #[cfg(feature = "logs")]
    pub fn logs_endpoint(&self) -> Option<&str> {
        match &self.logs.destination {
            Destination::Mackerel => Some(MACKEREL_LOGS_ENDPOINT),
            Destination::Endpoint(url) => Some(url),
            Destination::Console | Destination::Off(_) => None,
        }
    }

    /// The settings an export client of the logs signal is built from: these, with the logs'
    /// own proxy, headers, compression and timeout.
    #[cfg(feature = "logs")]
    pub(crate) fn for_logs(&self) -> Settings {
        Settings {
            proxy: self.logs.proxy.clone(),
            headers: self.logs.headers.clone(),
            compression: self.logs.compression,
            export_timeout: self.logs.export_timeout,
            ..self.clone()
        }
    }
}

/// A proxy to send export requests through, resolved for the endpoint it serves.
///
/// Its `Debug` and [`Display`](fmt::Display) show the host, port and the variable it came
/// from, never the credentials a proxy URL may carry.
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct Proxy {
    /// `http://[user:pass@]host:port`, normalised.
    pub(crate) url: String,
    pub(crate) host: String,
    pub(crate) port: u16,
    /// `user:pass`, percent-decoded, when the URL carries them.
    pub(crate) credentials: Option<String>,
    /// The variable it was read from, for messages.
    pub(crate) variable: &'static str,
}

impl fmt::Debug for Proxy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Proxy({self})")
    }
}

impl fmt::Display for Proxy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "proxy {}:{} ({})", self.host, self.port, self.variable)
    }
}
