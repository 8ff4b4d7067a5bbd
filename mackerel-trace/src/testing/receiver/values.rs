//! Reading decoded OTLP values for assertions: attributes by key, `AnyValue`s by type, ids as hex.

use opentelemetry_proto::tonic::common::v1::{any_value, AnyValue, KeyValue};

/// The value of the first attribute named `key`.
pub(super) fn find<'a>(attributes: &'a [KeyValue], key: &str) -> Option<&'a AnyValue> {
    attributes
        .iter()
        .find(|attribute| attribute.key == key)
        .and_then(|attribute| attribute.value.as_ref())
}

pub(super) fn as_str(value: &AnyValue) -> Option<&str> {
    match value.value.as_ref()? {
        any_value::Value::StringValue(value) => Some(value),
        _ => None,
    }
}

pub(super) fn as_int(value: &AnyValue) -> Option<i64> {
    match value.value.as_ref()? {
        any_value::Value::IntValue(value) => Some(*value),
        _ => None,
    }
}

pub(super) fn as_bool(value: &AnyValue) -> Option<bool> {
    match value.value.as_ref()? {
        any_value::Value::BoolValue(value) => Some(*value),
        _ => None,
    }
}

#[cfg(feature = "logs")]
pub(super) fn as_double(value: &AnyValue) -> Option<f64> {
    match value.value.as_ref()? {
        any_value::Value::DoubleValue(value) => Some(*value),
        _ => None,
    }
}

/// The entries of a map value (`KvlistValue`).
#[cfg(feature = "logs")]
pub(super) fn as_map(value: &AnyValue) -> Option<&[KeyValue]> {
    match value.value.as_ref()? {
        any_value::Value::KvlistValue(map) => Some(&map.values),
        _ => None,
    }
}

/// Lowercase hex, two digits a byte; empty for no bytes.
pub(super) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}
