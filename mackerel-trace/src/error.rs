//! The one error type: what is wrong with the configuration, and where it came from.

use std::fmt;

/// A configuration mistake, naming the variable or builder option and what is wrong with it.
///
/// Its `Display` is one line meant for a person, for example
/// `OTEL_EXPORTER_OTLP_TIMEOUT: expected milliseconds as a whole number, got "10s"`.
/// Secrets (the API key, header values) are never part of it.
///
/// # Example
///
/// ```
/// let err = mackerel_trace::Config::new()
///     .with_env_vars([("OTEL_TRACES_SAMPLER", "sometimes")])
///     .resolve()
///     .unwrap_err();
/// assert_eq!(err.origin(), "OTEL_TRACES_SAMPLER");
/// assert!(err.to_string().contains("sometimes"));
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Error {
    origin: String,
    problem: String,
}

impl Error {
    pub(crate) fn new(origin: impl Into<String>, problem: impl Into<String>) -> Self {
        Error {
            origin: origin.into(),
            problem: problem.into(),
        }
    }

    /// The environment variable (`OTEL_EXPORTER_OTLP_TIMEOUT`) or builder option
    /// (`Config::endpoint`) the mistake is in.
    pub fn origin(&self) -> &str {
        &self.origin
    }

    /// What is wrong, without the origin.
    pub fn problem(&self) -> &str {
        &self.problem
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.origin, self.problem)
    }
}

impl std::error::Error for Error {}
