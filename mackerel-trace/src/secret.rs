//! Values that must never be printed: the API key and configured header values.

use std::fmt;

/// A string whose `Debug` and `Display` show `<redacted>` instead of its text.
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct Secret(String);

impl Secret {
    const REDACTED: &'static str = "<redacted>";

    pub(crate) fn new(text: impl Into<String>) -> Self {
        Secret(text.into())
    }

    /// The text itself, for the request that carries it.
    pub(crate) fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(Secret::REDACTED)
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(Secret::REDACTED)
    }
}

/// A Mackerel API key. Its `Debug` and `Display` never show the key.
///
/// [`Config::api_key`](crate::Config::api_key) takes one, or anything that converts into one
/// (`&str`, `String`).
///
/// ```
/// let key = mackerel_trace::ApiKey::new("secret");
/// assert_eq!(format!("{key:?}"), "ApiKey(<redacted>)");
/// assert_eq!(key.to_string(), "<redacted>");
/// let config = mackerel_trace::Config::new().api_key(key);
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ApiKey(Secret);

impl ApiKey {
    /// Wraps a key.
    pub fn new(key: impl Into<String>) -> Self {
        ApiKey(Secret::new(key))
    }

    /// The key itself, for building the request header.
    pub(crate) fn expose(&self) -> &str {
        self.0.expose()
    }
}

impl fmt::Display for ApiKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

impl From<String> for ApiKey {
    fn from(key: String) -> Self {
        ApiKey::new(key)
    }
}

impl From<&str> for ApiKey {
    fn from(key: &str) -> Self {
        ApiKey::new(key)
    }
}

impl From<&String> for ApiKey {
    fn from(key: &String) -> Self {
        ApiKey::new(key.as_str())
    }
}
