//! [`Config`]: every option as a builder method, resolved with the environment into one
//! validated [`Settings`] value before anything starts.
//!
//! Precedence, highest first: environment variables, values set in code, built-in defaults.

#[cfg(feature = "logs")]
mod logs;
mod parse;
mod proxy;
mod resolve;
mod resource;
mod vars;

use std::time::Duration;

use crate::secret::{ApiKey, Secret};
use crate::settings::{Compression, Sampler, Settings};
use crate::{Error, Guard};
use vars::{VarMap, Vars};

/// Configuration of the pipeline to Mackerel, set in code; the environment overrides it.
///
/// Variables read (environment beats code beats defaults): `MACKEREL_APIKEY` then
/// `MACKEREL_API_KEY`; `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` (as is) then
/// `OTEL_EXPORTER_OTLP_ENDPOINT` (+ `/v1/traces`); `OTEL_EXPORTER_OTLP_[TRACES_]HEADERS`,
/// `_COMPRESSION` (`gzip`/`none`), `_PROTOCOL` (`http/protobuf`), `_TIMEOUT` (ms);
/// `OTEL_TRACES_EXPORTER` (`otlp`/`console`/`none`); `OTEL_SERVICE_NAME`;
/// `OTEL_RESOURCE_ATTRIBUTES`; `OTEL_TRACES_SAMPLER[_ARG]`; `OTEL_BSP_SCHEDULE_DELAY`,
/// `OTEL_BSP_MAX_QUEUE_SIZE`, `OTEL_BSP_MAX_EXPORT_BATCH_SIZE`, `OTEL_BSP_EXPORT_TIMEOUT`;
/// `OTEL_SDK_DISABLED`; `OTEL_PROPAGATORS`; `HTTPS_PROXY` (for `https://` endpoints),
/// `HTTP_PROXY` (for `http://` endpoints), `ALL_PROXY` (both) and `NO_PROXY`, upper or
/// lower case. Empty values count as unset.
///
/// Every option is a method; [`Config::init`] (or [`Config::resolve`]) reads the `OTEL_*` and
/// `MACKEREL_*` variables, validates everything into one [`Settings`] value, and only then
/// starts exporting.
///
/// # Example
///
/// ```no_run
/// let _guard = mackerel_trace::Config::new()
///     .service_name("checkout")
///     .service_version("1.4.2")
///     .environment("production")
///     .init()?;
/// // ... traced code runs here; spans are flushed when `_guard` drops ...
/// # Ok::<(), mackerel_trace::Error>(())
/// ```
#[derive(Clone, Debug, Default)]
#[must_use = "a Config does nothing until `init` starts the pipeline"]
pub struct Config {
    pub(crate) service_name: Option<String>,
    pub(crate) default_service_name: Option<String>,
    pub(crate) service_version: Option<String>,
    pub(crate) environment: Option<String>,
    pub(crate) api_key: Option<ApiKey>,
    pub(crate) endpoint: Option<String>,
    #[cfg(feature = "logs")]
    pub(crate) logs_endpoint: Option<String>,
    pub(crate) headers: Vec<(String, Secret)>,
    pub(crate) compression: Option<Compression>,
    pub(crate) export_timeout: Option<Duration>,
    pub(crate) shutdown_timeout: Option<Duration>,
    pub(crate) console: bool,
    pub(crate) console_fallback: bool,
    pub(crate) sampler: Option<Sampler>,
    pub(crate) schedule_delay: Option<Duration>,
    pub(crate) max_queue_size: Option<usize>,
    pub(crate) max_export_batch_size: Option<usize>,
    pub(crate) resource_attributes: Vec<(String, String)>,
    pub(crate) env_vars: Option<VarMap>,
}

impl Config {
    /// A configuration with nothing set in code: the environment and defaults decide.
    ///
    /// ```
    /// let settings = mackerel_trace::Config::new()
    ///     .with_env_vars([("MACKEREL_APIKEY", "k")])
    ///     .resolve()
    ///     .unwrap();
    /// assert_eq!(settings.endpoint(), Some(mackerel_trace::MACKEREL_ENDPOINT));
    /// ```
    pub fn new() -> Self {
        Config::default()
    }

    /// `service.name`; `OTEL_SERVICE_NAME` and `service.name` in `OTEL_RESOURCE_ATTRIBUTES`
    /// override it. Default: the executable's file name (the crate name under `#[main]`; the
    /// function's name on AWS Lambda, with the `lambda` feature).
    ///
    /// ```
    /// let config = mackerel_trace::Config::new().service_name("checkout");
    /// ```
    pub fn service_name(mut self, name: impl Into<String>) -> Self {
        self.service_name = Some(name.into());
        self
    }

    /// `service.version`. Default: none (the crate version under `#[main]`).
    ///
    /// ```
    /// let config = mackerel_trace::Config::new().service_version(env!("CARGO_PKG_VERSION"));
    /// ```
    pub fn service_version(mut self, version: impl Into<String>) -> Self {
        self.service_version = Some(version.into());
        self
    }

    /// `deployment.environment.name`, such as `production` or `staging`; Mackerel filters by it.
    ///
    /// ```
    /// let config = mackerel_trace::Config::new().environment("staging");
    /// ```
    pub fn environment(mut self, environment: impl Into<String>) -> Self {
        self.environment = Some(environment.into());
        self
    }

    /// The Mackerel API key (Write permission); `MACKEREL_APIKEY` and `MACKEREL_API_KEY`
    /// override it. Sent as the `Mackerel-Api-Key` header and never printed.
    ///
    /// ```
    /// let config = mackerel_trace::Config::new().api_key("…");
    /// assert!(!format!("{config:?}").contains('…'));
    /// ```
    pub fn api_key(mut self, key: impl Into<ApiKey>) -> Self {
        self.api_key = Some(key.into());
        self
    }

    /// Full URL of an OTLP/HTTP traces endpoint, used as is (for a Collector:
    /// `http://localhost:4318/v1/traces`). The `OTEL_EXPORTER_OTLP_*ENDPOINT` variables
    /// override it. Default: Mackerel's endpoint when an API key is set.
    ///
    /// ```
    /// let config = mackerel_trace::Config::new().endpoint("http://localhost:4318/v1/traces");
    /// ```
    pub fn endpoint(mut self, url: impl Into<String>) -> Self {
        self.endpoint = Some(url.into());
        self
    }

    /// Full URL of an OTLP/HTTP logs endpoint, used as is (feature `logs`; for a Collector:
    /// `http://localhost:4318/v1/logs`). `OTEL_EXPORTER_OTLP_LOGS_ENDPOINT` and
    /// `OTEL_EXPORTER_OTLP_ENDPOINT` override it. Default: the traces' endpoint with
    /// `/v1/traces` replaced by `/v1/logs`, else Mackerel's when an API key is set.
    ///
    /// ```
    /// let config = mackerel_trace::Config::new().logs_endpoint("http://localhost:4318/v1/logs");
    /// ```
    #[cfg(feature = "logs")]
    pub fn logs_endpoint(mut self, url: impl Into<String>) -> Self {
        self.logs_endpoint = Some(url.into());
        self
    }

    /// An extra header on every export request. Header variables in the environment are added
    /// after these and win for the same name.
    ///
    /// ```
    /// let config = mackerel_trace::Config::new().header("X-Tenant", "blue");
    /// ```
    pub fn header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.headers.push((name.into(), Secret::new(value)));
        self
    }

    /// Request body compression. Default [`Compression::Gzip`].
    ///
    /// ```
    /// use mackerel_trace::{Compression, Config};
    /// let config = Config::new().compression(Compression::None);
    /// ```
    pub fn compression(mut self, compression: Compression) -> Self {
        self.compression = Some(compression);
        self
    }

    /// How long one export may take, retries included. Default 10 s (Mackerel can take over 5 s).
    ///
    /// ```
    /// let config = mackerel_trace::Config::new().export_timeout(std::time::Duration::from_secs(3));
    /// ```
    pub fn export_timeout(mut self, timeout: Duration) -> Self {
        self.export_timeout = Some(timeout);
        self
    }

    /// How long flushing at exit may take before the program exits anyway. Default 5 s.
    ///
    /// ```
    /// let config = mackerel_trace::Config::new().shutdown_timeout(std::time::Duration::from_secs(2));
    /// ```
    pub fn shutdown_timeout(mut self, timeout: Duration) -> Self {
        self.shutdown_timeout = Some(timeout);
        self
    }

    /// Print finished traces to stderr instead of exporting them (as
    /// `OTEL_TRACES_EXPORTER=console` does).
    ///
    /// ```
    /// let config = mackerel_trace::Config::new().console();
    /// ```
    pub fn console(mut self) -> Self {
        self.console = true;
        self
    }

    /// Print traces to stderr when neither an API key nor an endpoint is configured, instead of
    /// turning tracing off: for examples and local development, so the same program prints
    /// locally and exports once `MACKEREL_APIKEY` or an endpoint variable is set.
    ///
    /// ```
    /// use mackerel_trace::{Config, Destination};
    /// let settings = Config::new().fallback_to_console().with_env_vars([("", "")]).resolve().unwrap();
    /// assert_eq!(settings.destination(), &Destination::Console);
    /// ```
    pub fn fallback_to_console(mut self) -> Self {
        self.console_fallback = true;
        self
    }

    /// Which traces to record. Default [`Sampler::ParentBasedAlwaysOn`].
    ///
    /// ```
    /// use mackerel_trace::{Config, Sampler};
    /// let config = Config::new().sampler(Sampler::ParentBasedTraceIdRatio(0.1));
    /// ```
    pub fn sampler(mut self, sampler: Sampler) -> Self {
        self.sampler = Some(sampler);
        self
    }

    /// How long finished spans may wait before they are sent. Default 5 s.
    ///
    /// ```
    /// let config = mackerel_trace::Config::new().schedule_delay(std::time::Duration::from_millis(500));
    /// ```
    pub fn schedule_delay(mut self, delay: Duration) -> Self {
        self.schedule_delay = Some(delay);
        self
    }

    /// How many finished spans may wait to be sent; more are dropped and counted. Default 16384.
    ///
    /// ```
    /// let config = mackerel_trace::Config::new().max_queue_size(65_536);
    /// ```
    pub fn max_queue_size(mut self, size: usize) -> Self {
        self.max_queue_size = Some(size);
        self
    }

    /// At most this many spans per request (requests are also cut at 3.5 MiB). Default 4096,
    /// or the queue size when that is smaller; a value above the queue size is an error.
    ///
    /// ```
    /// let config = mackerel_trace::Config::new().max_export_batch_size(1000);
    /// ```
    pub fn max_export_batch_size(mut self, size: usize) -> Self {
        self.max_export_batch_size = Some(size);
        self
    }

    /// An extra resource attribute; `OTEL_RESOURCE_ATTRIBUTES` overrides the same key.
    ///
    /// ```
    /// let config = mackerel_trace::Config::new().resource_attribute("service.namespace", "shop");
    /// ```
    pub fn resource_attribute(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.resource_attributes.push((key.into(), value.into()));
        self
    }

    /// Reads the `OTEL_*`/`MACKEREL_*` variables from `vars` instead of the process
    /// environment: for tests, and for programs that keep configuration elsewhere.
    ///
    /// ```
    /// let settings = mackerel_trace::Config::new()
    ///     .with_env_vars([("OTEL_TRACES_EXPORTER", "none")])
    ///     .resolve()
    ///     .unwrap();
    /// assert!(!settings.is_enabled());
    /// ```
    pub fn with_env_vars<K, V>(mut self, vars: impl IntoIterator<Item = (K, V)>) -> Self
    where
        K: Into<String>,
        V: Into<String>,
    {
        self.env_vars = Some(VarMap::new(
            vars.into_iter()
                .map(|(k, v)| (k.into(), v.into()))
                .collect(),
        ));
        self
    }

    /// Sets the `service.name` used when neither code nor the environment gives one.
    #[doc(hidden)]
    pub fn default_service_name(mut self, name: impl Into<String>) -> Self {
        self.default_service_name = Some(name.into());
        self
    }

    /// Reads the environment and validates everything into one [`Settings`] value, without
    /// starting anything.
    ///
    /// # Errors
    ///
    /// The first malformed variable or option, named in the [`Error`].
    ///
    /// ```
    /// let err = mackerel_trace::Config::new()
    ///     .with_env_vars([("OTEL_EXPORTER_OTLP_TIMEOUT", "soon")])
    ///     .resolve()
    ///     .unwrap_err();
    /// assert_eq!(err.origin(), "OTEL_EXPORTER_OTLP_TIMEOUT");
    /// ```
    pub fn resolve(&self) -> Result<Settings, Error> {
        resolve::resolve(self, &Vars::new(self.env_vars.as_ref()))
    }

    /// Resolves this configuration with the environment and starts the pipeline.
    ///
    /// # Errors
    ///
    /// A malformed variable or option, named in the [`Error`]. Nothing is started then.
    ///
    /// ```no_run
    /// let _guard = mackerel_trace::Config::new().service_name("worker").init()?;
    /// # Ok::<(), mackerel_trace::Error>(())
    /// ```
    pub fn init(self) -> Result<Guard, Error> {
        let settings = self.resolve()?;
        Ok(crate::pipeline::start(&settings))
    }
}

/// Starts the pipeline configured from the environment, with `service.name` defaulting to
/// the executable's file name. Keep the guard alive for as long as the program runs: dropping
/// it flushes the spans and shuts the pipeline down.
///
/// `#[mackerel_trace::main]` does this for you; use `init` where the attribute does not fit.
/// It is `Config::new().init()`.
///
/// # Errors
///
/// A malformed variable, named in the [`Error`]. Nothing is started then.
///
/// # Example
///
/// ```no_run
/// fn main() -> Result<(), mackerel_trace::Error> {
///     let _guard = mackerel_trace::init()?;
///     // ... traced code ...
///     Ok(())
/// }
/// ```
pub fn init() -> Result<Guard, Error> {
    Config::new().init()
}
