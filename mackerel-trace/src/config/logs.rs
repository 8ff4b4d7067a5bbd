//! The logs signal's settings (feature `logs`): where log records go and how, from
//! `OTEL_LOGS_EXPORTER`, the `OTEL_EXPORTER_OTLP_LOGS_*` variables over the generic
//! `OTEL_EXPORTER_OTLP_*` ones over the code's settings, and `OTEL_BLRP_*` for the batch —
//! resolved as the traces' are, each mistake an error that names its variable.

use std::time::Duration;

use super::parse::{self, ExporterKind};
use super::resolve::{OtlpOptions, SignalVars};
use super::vars::Vars;
use super::Config;
use crate::settings::{Destination, LogSettings, OffReason};
use crate::Error;

const LOGS: SignalVars = SignalVars {
    protocol: "OTEL_EXPORTER_OTLP_LOGS_PROTOCOL",
    headers: "OTEL_EXPORTER_OTLP_LOGS_HEADERS",
    compression: "OTEL_EXPORTER_OTLP_LOGS_COMPRESSION",
    timeout: "OTEL_EXPORTER_OTLP_LOGS_TIMEOUT",
};

/// What the traces' resolution decided that the logs follow.
pub(super) struct Traces<'a> {
    /// `OTEL_SDK_DISABLED=true`.
    pub(super) disabled: bool,
    pub(super) destination: &'a Destination,
    /// Whether a Mackerel API key is set.
    pub(super) api_key: bool,
}

pub(super) fn resolve(
    config: &Config,
    vars: &Vars<'_>,
    traces: Traces<'_>,
) -> Result<LogSettings, Error> {
    let exporter = vars.parse(&["OTEL_LOGS_EXPORTER"], parse::exporter_kind)?;
    // The generic protocol variable was checked with the traces'.
    super::resolve::check_protocol(vars, &[LOGS.protocol])?;
    let endpoint = endpoint(config, vars)?;
    let (_, headers) = super::resolve::api_key_and_headers(config, vars, LOGS.headers)?;
    let OtlpOptions {
        compression,
        export_timeout,
    } = super::resolve::otlp_options(config, vars, &LOGS)?;
    // The OpenTelemetry defaults for the batch log record processor.
    let schedule_delay = vars
        .parse(&["OTEL_BLRP_SCHEDULE_DELAY"], parse::millis)?
        .unwrap_or(Duration::from_secs(1));
    let blrp_export_timeout = vars
        .parse(&["OTEL_BLRP_EXPORT_TIMEOUT"], parse::millis)?
        .unwrap_or(Duration::from_secs(30));
    let max_queue_size = vars
        .parse(&["OTEL_BLRP_MAX_QUEUE_SIZE"], parse::count)?
        .unwrap_or(2_048);
    let max_export_batch_size = match vars
        .parse(&["OTEL_BLRP_MAX_EXPORT_BATCH_SIZE"], parse::count)?
    {
        Some(size) if size > max_queue_size => {
            return Err(Error::new(
                "OTEL_BLRP_MAX_EXPORT_BATCH_SIZE",
                format!("{size} is more than the queue size {max_queue_size}; the batch size may be at most the queue size (OTEL_BLRP_MAX_QUEUE_SIZE)"),
            ));
        }
        Some(size) => size,
        None => 512.min(max_queue_size),
    };

    let (destination, notice) = if traces.disabled {
        (Destination::Off(OffReason::Disabled), None)
    } else {
        match exporter {
            Some(ExporterKind::None) => (Destination::Off(OffReason::ExporterNone), None),
            Some(ExporterKind::Console) => (Destination::Console, None),
            Some(ExporterKind::Otlp) | None => match endpoint {
                Endpoint::Url(url) => (Destination::Endpoint(url), None),
                Endpoint::Unknown(notice) => {
                    (Destination::Off(OffReason::NoDestination), Some(notice))
                }
                Endpoint::Unset if traces.api_key => (Destination::Mackerel, None),
                // No destination of their own: the logs go where the traces' console goes
                // (`OTEL_TRACES_EXPORTER=console`, `Config::console`, the console fallback).
                Endpoint::Unset
                    if exporter.is_none() && *traces.destination == Destination::Console =>
                {
                    (Destination::Console, None)
                }
                Endpoint::Unset => (Destination::Off(OffReason::NoDestination), None),
            },
        }
    };
    let proxy = match &destination {
        Destination::Mackerel => super::proxy::resolve(crate::MACKEREL_LOGS_ENDPOINT, vars)?,
        Destination::Endpoint(url) => super::proxy::resolve(url, vars)?,
        Destination::Console | Destination::Off(_) => None,
    };
    Ok(LogSettings {
        destination,
        proxy,
        headers,
        compression,
        export_timeout,
        blrp_export_timeout,
        schedule_delay,
        max_queue_size,
        max_export_batch_size,
        notice,
    })
}

enum Endpoint {
    Url(String),
    /// Set in code for traces at a path the logs' cannot be told from.
    Unknown(String),
    Unset,
}

/// `OTEL_EXPORTER_OTLP_LOGS_ENDPOINT` as is; else `OTEL_EXPORTER_OTLP_ENDPOINT` + `/v1/logs`;
/// else `Config::logs_endpoint`; else `Config::endpoint` with `/v1/traces` replaced by
/// `/v1/logs`.
fn endpoint(config: &Config, vars: &Vars<'_>) -> Result<Endpoint, Error> {
    if let Some((name, value)) = vars.first(&["OTEL_EXPORTER_OTLP_LOGS_ENDPOINT"]) {
        return Ok(Endpoint::Url(
            parse::http_url(&value).map_err(|p| Error::new(name, p))?,
        ));
    }
    if let Some((name, value)) = vars.first(&["OTEL_EXPORTER_OTLP_ENDPOINT"]) {
        let base = parse::http_url(&value).map_err(|p| Error::new(name, p))?;
        return Ok(Endpoint::Url(format!(
            "{}/v1/logs",
            base.trim_end_matches('/')
        )));
    }
    if let Some(url) = &config.logs_endpoint {
        return Ok(Endpoint::Url(
            parse::http_url(url).map_err(|p| Error::new("Config::logs_endpoint", p))?,
        ));
    }
    let Some(traces) = &config.endpoint else {
        return Ok(Endpoint::Unset);
    };
    let traces = parse::http_url(traces).map_err(|p| Error::new("Config::endpoint", p))?;
    Ok(match traces.trim_end_matches('/').strip_suffix("/v1/traces") {
        Some(base) => Endpoint::Url(format!("{base}/v1/logs")),
        None => Endpoint::Unknown(format!(
            "the traces endpoint {traces} does not end in /v1/traces, so the logs endpoint cannot be told from it: set OTEL_EXPORTER_OTLP_LOGS_ENDPOINT or Config::logs_endpoint; logs are off"
        )),
    })
}
