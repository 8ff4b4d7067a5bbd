//! Getting finished spans (and, with feature `logs`, log records) to Mackerel: a bounded queue
//! and worker thread per signal that cuts batches by size ([`batch`], [`size`]),
//! `opentelemetry-otlp`'s exporter posting through our HTTP client ([`client`], with
//! [`forward`] for plain-HTTP proxies), and counted, rate-limited reporting of what was lost
//! ([`report`]).

pub(crate) mod batch;
pub(crate) mod client;
mod forward;
pub(crate) mod report;
pub(crate) mod size;

pub use report::ExportStats;
