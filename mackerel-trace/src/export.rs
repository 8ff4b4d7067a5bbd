//! Getting finished spans to Mackerel: a bounded queue and worker thread ([`batch`]), OTLP/HTTP
//! requests cut by size and retried ([`otlp`]), and counted, rate-limited reporting of what
//! was lost ([`report`]).

pub(crate) mod batch;
pub(crate) mod otlp;
pub(crate) mod report;
mod retry;

pub use report::ExportStats;
