//! Merges the environment over the values set in code, validating each variable.

use std::time::Duration;

use super::parse::{self, ExporterKind};
use super::vars::Vars;
use super::Config;
use crate::secret::{ApiKey, Secret};
use crate::settings::{Compression, Destination, OffReason, Propagator, Sampler, Settings};
use crate::Error;

/// Headers mackerel-trace sets itself; a configured header may not replace them.
const RESERVED_HEADERS: [&str; 4] = [
    "content-type",
    "content-encoding",
    "content-length",
    "accept",
];
const API_KEY_HEADER: &str = "mackerel-api-key";

pub(super) fn resolve(config: &Config, vars: &Vars<'_>) -> Result<Settings, Error> {
    let disabled = vars
        .parse(&["OTEL_SDK_DISABLED"], parse::boolean)?
        .unwrap_or(false);
    let exporter = vars.parse(&["OTEL_TRACES_EXPORTER"], parse::exporter_kind)?;
    check_protocol(vars, &[TRACES.protocol, "OTEL_EXPORTER_OTLP_PROTOCOL"])?;

    let endpoint = match vars.first(&["OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"]) {
        Some((name, value)) => Some(parse::http_url(&value).map_err(|p| Error::new(name, p))?),
        None => match vars.first(&["OTEL_EXPORTER_OTLP_ENDPOINT"]) {
            Some((name, value)) => {
                let base = parse::http_url(&value).map_err(|p| Error::new(name, p))?;
                Some(format!("{}/v1/traces", base.trim_end_matches('/')))
            }
            None => config
                .endpoint
                .as_deref()
                .map(|url| parse::http_url(url).map_err(|p| Error::new("Config::endpoint", p)))
                .transpose()?,
        },
    };

    let (api_key, headers) = api_key_and_headers(config, vars, TRACES.headers)?;

    let OtlpOptions {
        compression,
        export_timeout,
    } = otlp_options(config, vars, &TRACES)?;
    let bsp_export_timeout = vars
        .parse(&["OTEL_BSP_EXPORT_TIMEOUT"], parse::millis)?
        .unwrap_or(Duration::from_secs(30));
    let sampler = sampler(vars)?.or(config.sampler).unwrap_or_default();
    let schedule_delay = vars
        .parse(&["OTEL_BSP_SCHEDULE_DELAY"], parse::millis)?
        .or(config.schedule_delay)
        .unwrap_or(Duration::from_secs(5));
    let max_queue_size = vars
        .parse(&["OTEL_BSP_MAX_QUEUE_SIZE"], parse::count)?
        .or(config.max_queue_size)
        .unwrap_or(16_384);
    // A batch size that was set must fit in the queue; the built-in one shrinks to a smaller
    // queue, so that setting only the queue size is never an error about the batch size.
    let max_export_batch_size = match vars
        .parse(&["OTEL_BSP_MAX_EXPORT_BATCH_SIZE"], parse::count)?
        .map(|size| ("OTEL_BSP_MAX_EXPORT_BATCH_SIZE", size))
        .or(config
            .max_export_batch_size
            .map(|size| ("Config::max_export_batch_size", size)))
    {
        Some((origin, size)) if size > max_queue_size => {
            return Err(Error::new(
                origin,
                format!("{size} is more than the queue size {max_queue_size}; the batch size may be at most the queue size (OTEL_BSP_MAX_QUEUE_SIZE)"),
            ));
        }
        Some((_, size)) => size,
        None => 4_096.min(max_queue_size),
    };
    let propagators = vars
        .parse(&["OTEL_PROPAGATORS"], parse::propagators)?
        .unwrap_or_else(|| vec![Propagator::TraceContext, Propagator::Baggage]);
    let resource = super::resource::resolve(config, vars)?;

    // `exit_hint`: the console stood in for a destination that is not set up yet, so the run
    // ends by saying how to send for real.
    let (destination, notice, exit_hint) = if disabled {
        (Destination::Off(OffReason::Disabled), None, None)
    } else {
        match exporter {
            Some(ExporterKind::None) => (Destination::Off(OffReason::ExporterNone), None, None),
            Some(ExporterKind::Console) => (Destination::Console, None, None),
            None if config.console => (Destination::Console, None, None),
            Some(ExporterKind::Otlp) | None => match (endpoint, &api_key) {
                (Some(url), _) => (Destination::Endpoint(url), None, None),
                (None, Some(_)) => (Destination::Mackerel, None, None),
                (None, None) if config.console_fallback => {
                    (Destination::Console, None, Some(FALLBACK_HINT))
                }
                (None, None) => (
                    Destination::Off(OffReason::NoDestination),
                    Some("no Mackerel API key: set MACKEREL_APIKEY to send traces to Mackerel, or OTEL_TRACES_EXPORTER=console to print them here; tracing is off"),
                    None,
                ),
            },
        }
    };

    #[cfg(feature = "logs")]
    let logs = super::logs::resolve(
        config,
        vars,
        super::logs::Traces {
            disabled,
            destination: &destination,
            api_key: api_key.is_some(),
        },
    )?;

    let proxy = match &destination {
        Destination::Mackerel => super::proxy::resolve(crate::MACKEREL_ENDPOINT, vars)?,
        Destination::Endpoint(url) => super::proxy::resolve(url, vars)?,
        Destination::Console | Destination::Off(_) => None,
    };

    Ok(Settings {
        destination,
        proxy,
        api_key,
        headers,
        compression,
        export_timeout,
        bsp_export_timeout,
        shutdown_timeout: config.shutdown_timeout.unwrap_or(Duration::from_secs(5)),
        sampler,
        schedule_delay,
        max_queue_size,
        max_export_batch_size,
        propagators,
        resource,
        notice,
        exit_hint,
        #[cfg(feature = "logs")]
        logs,
    })
}

/// One signal's own OTLP variables, each read before its generic `OTEL_EXPORTER_OTLP_*` twin.
pub(super) struct SignalVars {
    pub(super) protocol: &'static str,
    pub(super) headers: &'static str,
    pub(super) compression: &'static str,
    pub(super) timeout: &'static str,
}

const TRACES: SignalVars = SignalVars {
    protocol: "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL",
    headers: "OTEL_EXPORTER_OTLP_TRACES_HEADERS",
    compression: "OTEL_EXPORTER_OTLP_TRACES_COMPRESSION",
    timeout: "OTEL_EXPORTER_OTLP_TRACES_TIMEOUT",
};

/// What a signal's requests are sent with, besides headers.
pub(super) struct OtlpOptions {
    pub(super) compression: Compression,
    pub(super) export_timeout: Duration,
}

/// The first of `names` that is set must say `http/protobuf`, the only protocol sent.
pub(super) fn check_protocol(vars: &Vars<'_>, names: &[&'static str]) -> Result<(), Error> {
    match vars.first(names) {
        Some((name, value)) if value.trim() != "http/protobuf" => Err(Error::new(
            name,
            format!("protocol {:?} is not supported; mackerel-trace sends http/protobuf (Mackerel accepts only OTLP/HTTP)", value.trim()),
        )),
        _ => Ok(()),
    }
}

/// A signal's compression and export timeout: its own variable over the generic one over the
/// code's setting over the default.
pub(super) fn otlp_options(
    config: &Config,
    vars: &Vars<'_>,
    signal: &SignalVars,
) -> Result<OtlpOptions, Error> {
    let compression = vars
        .parse(
            &[signal.compression, "OTEL_EXPORTER_OTLP_COMPRESSION"],
            parse::compression,
        )?
        .or(config.compression)
        .unwrap_or_default();
    let export_timeout = vars
        .parse(
            &[signal.timeout, "OTEL_EXPORTER_OTLP_TIMEOUT"],
            parse::millis,
        )?
        .or(config.export_timeout)
        .unwrap_or(Duration::from_secs(10));
    Ok(OtlpOptions {
        compression,
        export_timeout,
    })
}

/// Said at exit when the console stood in for a destination that is not set up yet.
const FALLBACK_HINT: &str = "printed the traces here because no destination is set: set MACKEREL_APIKEY to send them to Mackerel, or OTEL_EXPORTER_OTLP_ENDPOINT (such as http://localhost:4318) to send them to a Collector";

/// Extra request headers, name and value, in the order they are sent.
type Headers = Vec<(String, Secret)>;

/// The API key (environment over code) and the other headers (signal-specific variable over
/// generic variable, environment over code for the same name).
///
/// A `Mackerel-Api-Key` header in a header list counts as the key when no key is set
/// elsewhere; when a key is set elsewhere too and they differ, that is an error rather than
/// a silent replacement.
pub(super) fn api_key_and_headers(
    config: &Config,
    vars: &Vars<'_>,
    signal_headers: &'static str,
) -> Result<(Option<ApiKey>, Headers), Error> {
    let mut api_key: Option<(&'static str, String)> = vars
        .first(&["MACKEREL_APIKEY", "MACKEREL_API_KEY"])
        .or_else(|| {
            config
                .api_key
                .as_ref()
                .map(|key| ("Config::api_key", key.expose().to_owned()))
        });

    let env_headers = vars
        .parse(
            &[signal_headers, "OTEL_EXPORTER_OTLP_HEADERS"],
            parse::key_value_list,
        )?
        .map(|headers| {
            let name = vars
                .first(&[signal_headers])
                .map_or("OTEL_EXPORTER_OTLP_HEADERS", |(name, _)| name);
            (name, headers)
        });
    let code_headers = config
        .headers
        .iter()
        .map(|(name, value)| ("Config::header", (name.clone(), value.expose().to_owned())));
    let env_headers = env_headers
        .into_iter()
        .flat_map(|(name, headers)| headers.into_iter().map(move |h| (name, h)));

    let mut headers: Vec<(String, String)> = Vec::new();
    for (origin, (name, value)) in code_headers.chain(env_headers) {
        let lower = name.to_ascii_lowercase();
        http::HeaderName::from_bytes(lower.as_bytes())
            .map_err(|_| Error::new(origin, format!("{name:?} is not a valid header name")))?;
        http::HeaderValue::from_str(&value).map_err(|_| {
            Error::new(
                origin,
                format!("the value of header {name:?} is not a valid header value"),
            )
        })?;
        if RESERVED_HEADERS.contains(&lower.as_str()) {
            return Err(Error::new(
                origin,
                format!("header {name:?} is set by mackerel-trace and cannot be configured"),
            ));
        }
        if lower == API_KEY_HEADER {
            match &api_key {
                Some((key_origin, key)) if key.trim() != value.trim() => {
                    return Err(Error::new(
                        origin,
                        format!("sets Mackerel-Api-Key, which differs from the key in {key_origin}; set the key in one place"),
                    ));
                }
                _ => api_key = Some((origin, value)),
            }
            continue;
        }
        headers.retain(|(existing, _)| !existing.eq_ignore_ascii_case(&name));
        headers.push((name, value));
    }

    let api_key = match api_key {
        Some((origin, key)) => {
            let key = key.trim().to_owned();
            if http::HeaderValue::from_str(&key).is_err() {
                return Err(Error::new(
                    origin,
                    "the API key contains characters that cannot be sent in an HTTP header",
                ));
            }
            Some(ApiKey::new(key))
        }
        None => None,
    };
    let headers = headers
        .into_iter()
        .map(|(name, value)| (name, Secret::new(value)))
        .collect();
    Ok((api_key, headers))
}

fn sampler(vars: &Vars<'_>) -> Result<Option<Sampler>, Error> {
    let Some((name, value)) = vars.first(&["OTEL_TRACES_SAMPLER"]) else {
        return Ok(None);
    };
    let ratio = || -> Result<f64, Error> {
        Ok(vars
            .parse(&["OTEL_TRACES_SAMPLER_ARG"], parse::ratio)?
            .unwrap_or(1.0))
    };
    let sampler = match value.trim().to_ascii_lowercase().as_str() {
        "always_on" => Sampler::AlwaysOn,
        "always_off" => Sampler::AlwaysOff,
        "traceidratio" => Sampler::TraceIdRatio(ratio()?),
        "parentbased_always_on" => Sampler::ParentBasedAlwaysOn,
        "parentbased_always_off" => Sampler::ParentBasedAlwaysOff,
        "parentbased_traceidratio" => Sampler::ParentBasedTraceIdRatio(ratio()?),
        other => {
            return Err(Error::new(
                name,
                format!("unknown sampler {other:?}; expected always_on, always_off, traceidratio, parentbased_always_on, parentbased_always_off or parentbased_traceidratio"),
            ))
        }
    };
    Ok(Some(sampler))
}
