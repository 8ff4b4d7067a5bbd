//! [`Payload`]: the event as the runtime hands it to the layer — the handler's own payload type
//! read from the event's text, and what the layer reads from the same text.

use std::fmt;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer};
use serde_json::value::RawValue;

use super::event::{self, Trigger};

/// The event of one invocation as [`Traced`](super::Traced) receives it: your handler's payload
/// `T`, and what the layer reads from the same JSON (is it an HTTP request, which route, the
/// caller's `traceparent`).
///
/// You never build one: the runtime deserializes it from the event, and the layer hands your
/// handler a `LambdaEvent<T>`. An event that does not fit `T` is not an error of the runtime's
/// here but of the invocation: its span records it, and the runtime reports it to Lambda as it
/// would have.
///
/// ```
/// use mackerel_trace::lambda::Payload;
///
/// let payload: Payload<Vec<u32>> = serde_json::from_str("[1, 2, 3]")?;
/// assert_eq!(payload.value(), Some(&vec![1, 2, 3]));
///
/// let mismatch: Payload<Vec<u32>> = serde_json::from_str(r#"{"not":"a list"}"#)?;
/// assert_eq!(mismatch.value(), None);
/// # Ok::<(), serde_json::Error>(())
/// ```
pub struct Payload<T> {
    pub(super) value: Result<T, PayloadError>,
    pub(super) trigger: Trigger,
}

impl<T> Payload<T> {
    /// The handler's payload, or `None` when the event did not fit `T`.
    pub fn value(&self) -> Option<&T> {
        self.value.as_ref().ok()
    }
}

impl<T: fmt::Debug> fmt::Debug for Payload<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Payload")
            .field("value", &self.value)
            .field("trigger", &self.trigger.name())
            .finish()
    }
}

impl<'de, T: DeserializeOwned> Deserialize<'de> for Payload<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        // The event's text, once: the layer's reading and the handler's type each parse it.
        let raw = Box::<RawValue>::deserialize(deserializer)?;
        let text = raw.get();
        let trigger = event::read(text);
        let mut json = serde_json::Deserializer::from_str(text);
        let value = serde_path_to_error::deserialize(&mut json).map_err(PayloadError::new);
        Ok(Payload { value, trigger })
    }
}

/// Why an event did not fit the handler's payload type, in the words the runtime uses.
#[derive(Debug)]
pub(super) struct PayloadError {
    pub(super) message: String,
}

impl PayloadError {
    fn new(error: serde_path_to_error::Error<serde_json::Error>) -> Self {
        let path = error.path().to_string();
        let context = "failed to deserialize the incoming data into the function's payload type";
        let message = if path == "." {
            format!("{context}: {}", error.inner())
        } else {
            format!("{context}: [{path}] {}", error.inner())
        };
        PayloadError { message }
    }

    /// The `errorType` Lambda reports for it.
    pub(super) const ERROR_TYPE: &'static str = "Runtime.UnmarshalError";
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Deserialize, PartialEq)]
    struct Order {
        id: u64,
    }

    #[test]
    fn the_payload_and_the_trigger_come_from_the_same_text() {
        let payload: Payload<serde_json::Value> = serde_json::from_str(
            r#"{"version":"2.0","routeKey":"GET /a","rawPath":"/a","requestContext":{"http":{"method":"GET"}}}"#,
        )
        .unwrap();
        assert_eq!(payload.value().unwrap()["routeKey"], "GET /a");
        assert_eq!(payload.trigger.name(), "http");
    }

    #[test]
    fn a_mismatch_is_kept_with_its_path_not_raised() {
        let payload: Payload<Order> = serde_json::from_str(r#"{"id":"seven"}"#).unwrap();
        let error = payload.value.unwrap_err();
        assert!(
            error
                .message
                .contains("[id] invalid type: string \"seven\""),
            "{}",
            error.message
        );
    }

    #[test]
    fn reads_through_the_runtimes_path_tracking_deserializer() {
        // lambda_runtime reads the event with serde_path_to_error over a slice.
        let body = br#"{"id": 7}"#;
        let mut json = serde_json::Deserializer::from_slice(body);
        let payload: Payload<Order> = serde_path_to_error::deserialize(&mut json).unwrap();
        assert_eq!(payload.value(), Some(&Order { id: 7 }));
    }
}
