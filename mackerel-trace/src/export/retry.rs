//! When and how long to wait before trying an export again.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

const INITIAL_BACKOFF: Duration = Duration::from_millis(100);
const MAX_BACKOFF: Duration = Duration::from_secs(5);

/// Statuses Mackerel (and OTLP receivers) answer when trying again later can succeed.
pub(super) fn is_retryable_status(status: u16) -> bool {
    matches!(status, 429 | 502 | 503 | 504)
}

/// Statuses Mackerel answers for a missing, invalid or read-only API key.
pub(super) fn is_key_rejection(status: u16) -> bool {
    matches!(status, 400 | 401 | 403)
}

/// The wait before attempt `attempt + 1`: exponential from 100 ms with up to 50% jitter,
/// or the server's `Retry-After` (in seconds) when it gives one.
pub(super) fn backoff(attempt: u32, retry_after: Option<&str>) -> Duration {
    if let Some(seconds) = retry_after.and_then(|value| value.trim().parse::<u64>().ok()) {
        return Duration::from_secs(seconds);
    }
    let exponential = INITIAL_BACKOFF
        .saturating_mul(1 << attempt.min(16))
        .min(MAX_BACKOFF);
    exponential + jitter(exponential / 2)
}

/// A cheap pseudo-random duration below `max`: only spreads retries of many processes apart.
fn jitter(max: Duration) -> Duration {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    let max_nanos = u32::try_from(max.as_nanos()).unwrap_or(u32::MAX).max(1);
    Duration::from_nanos(u64::from(nanos % max_nanos))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_seconds_wins() {
        assert_eq!(backoff(0, Some("2")), Duration::from_secs(2));
    }

    #[test]
    fn backoff_grows_and_is_capped() {
        assert!(backoff(0, None) >= Duration::from_millis(100));
        assert!(backoff(0, None) < Duration::from_millis(151));
        assert!(backoff(3, None) >= Duration::from_millis(800));
        assert!(backoff(30, None) <= MAX_BACKOFF + MAX_BACKOFF / 2);
    }

    #[test]
    fn classifies_statuses() {
        for status in [429, 502, 503, 504] {
            assert!(is_retryable_status(status));
        }
        for status in [200, 400, 401, 403, 404, 500] {
            assert!(!is_retryable_status(status));
        }
        assert!(is_key_rejection(401) && !is_key_rejection(429));
    }
}
