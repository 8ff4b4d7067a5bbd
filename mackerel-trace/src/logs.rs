//! Logs: `tracing` events as OpenTelemetry log records, exported like spans and linked to the
//! span that was current where each event happened (feature `logs`).
//!
//! Work in progress (issue 16): the installed logger lives here; the bridge layer emits into it.
