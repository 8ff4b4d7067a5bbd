//! Typed span attribute values: the one conversion `#[traced(record(...))]` and `ret` go through.
//!
//! Integers become OpenTelemetry ints, floats doubles, `bool` bools, string types strings, slices,
//! arrays and `Vec`s of those arrays, and `Option<T>` records `T` or nothing. Anything else needs a
//! sigil in `record(...)`: `%value` (Display) or `?value` (Debug).

use std::borrow::Cow;
use std::fmt;

use opentelemetry::{Array, StringValue, Value};

/// Strings recorded on a span are cut to at most this many bytes, on a char boundary.
pub const MAX_STRING_BYTES: usize = 4096;

/// A value that can be recorded as a typed span attribute.
///
/// `#[traced(record(id))]` records `id` through this trait. Implement it for your own types to
/// record them without a sigil.
///
/// # Example
///
/// ```
/// use mackerel_trace::opentelemetry::Value;
/// use mackerel_trace::AttributeValue;
///
/// struct UserId(u32);
///
/// impl AttributeValue for UserId {
///     fn to_value(&self) -> Option<Value> {
///         self.0.to_value()
///     }
/// }
///
/// assert_eq!(UserId(7).to_value(), Some(Value::I64(7)));
/// assert_eq!(None::<u8>.to_value(), None);
/// ```
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be recorded as a typed span attribute",
    label = "no typed conversion for `{Self}`",
    note = "record it with `%` (Display) or `?` (Debug), for example `record(%value)`"
)]
pub trait AttributeValue {
    /// The attribute value, or `None` to record nothing (an `Option` that is `None`).
    fn to_value(&self) -> Option<Value>;

    /// The value's text, when it is a string type: a span keeps a short one without
    /// allocating. Leave it as it is in your implementations.
    #[doc(hidden)]
    #[inline]
    fn as_text(&self) -> Option<&str> {
        None
    }
}

/// An element of a slice, array or `Vec` recorded as an OpenTelemetry array.
#[diagnostic::on_unimplemented(
    message = "a list of `{Self}` cannot be recorded as a typed span attribute",
    note = "record it with `?` (Debug), for example `record(?values)`"
)]
pub trait ArrayElement: Sized {
    /// Converts the elements into one homogeneous OpenTelemetry array.
    fn to_array(items: &[Self]) -> Array;
}

impl<T: AttributeValue + ?Sized> AttributeValue for &T {
    #[inline]
    fn to_value(&self) -> Option<Value> {
        (**self).to_value()
    }
    #[inline]
    fn as_text(&self) -> Option<&str> {
        (**self).as_text()
    }
}

impl<T: AttributeValue + ?Sized> AttributeValue for &mut T {
    #[inline]
    fn to_value(&self) -> Option<Value> {
        (**self).to_value()
    }
    #[inline]
    fn as_text(&self) -> Option<&str> {
        (**self).as_text()
    }
}

impl<T: AttributeValue> AttributeValue for Option<T> {
    #[inline]
    fn to_value(&self) -> Option<Value> {
        self.as_ref().and_then(AttributeValue::to_value)
    }
    #[inline]
    fn as_text(&self) -> Option<&str> {
        self.as_ref().and_then(AttributeValue::as_text)
    }
}

macro_rules! signed {
    ($($t:ty)*) => {$(
        impl AttributeValue for $t {
            #[inline]
            fn to_value(&self) -> Option<Value> {
                Some(Value::I64(i64::from(*self)))
            }
        }
        impl ArrayElement for $t {
            fn to_array(items: &[Self]) -> Array {
                Array::I64(items.iter().map(|v| i64::from(*v)).collect())
            }
        }
    )*};
}
signed!(i8 i16 i32 i64 u8 u16 u32);

// Integers that may not fit an i64: recorded as their decimal string when they do not.
macro_rules! wide {
    ($($t:ty)*) => {$(
        impl AttributeValue for $t {
            #[inline]
            fn to_value(&self) -> Option<Value> {
                Some(match i64::try_from(*self) {
                    Ok(v) => Value::I64(v),
                    Err(_) => Value::String(self.to_string().into()),
                })
            }
        }
        impl ArrayElement for $t {
            fn to_array(items: &[Self]) -> Array {
                let ints: Result<Vec<i64>, _> = items.iter().map(|v| i64::try_from(*v)).collect();
                match ints {
                    Ok(ints) => Array::I64(ints),
                    Err(_) => Array::String(items.iter().map(|v| v.to_string().into()).collect()),
                }
            }
        }
    )*};
}
wide!(u64 usize u128 i128 isize);

impl AttributeValue for f64 {
    #[inline]
    fn to_value(&self) -> Option<Value> {
        Some(Value::F64(*self))
    }
}

impl AttributeValue for f32 {
    #[inline]
    fn to_value(&self) -> Option<Value> {
        Some(Value::F64(f64::from(*self)))
    }
}

impl ArrayElement for f64 {
    fn to_array(items: &[Self]) -> Array {
        Array::F64(items.to_vec())
    }
}

impl ArrayElement for f32 {
    fn to_array(items: &[Self]) -> Array {
        Array::F64(items.iter().map(|v| f64::from(*v)).collect())
    }
}

impl AttributeValue for bool {
    #[inline]
    fn to_value(&self) -> Option<Value> {
        Some(Value::Bool(*self))
    }
}

impl ArrayElement for bool {
    fn to_array(items: &[Self]) -> Array {
        Array::Bool(items.to_vec())
    }
}

impl AttributeValue for str {
    fn to_value(&self) -> Option<Value> {
        Some(Value::String(cut_str(self)))
    }
    #[inline]
    fn as_text(&self) -> Option<&str> {
        Some(self)
    }
}

impl AttributeValue for String {
    fn to_value(&self) -> Option<Value> {
        self.as_str().to_value()
    }
    #[inline]
    fn as_text(&self) -> Option<&str> {
        Some(self)
    }
}

impl AttributeValue for Cow<'_, str> {
    fn to_value(&self) -> Option<Value> {
        (**self).to_value()
    }
    #[inline]
    fn as_text(&self) -> Option<&str> {
        Some(self)
    }
}

impl ArrayElement for &str {
    fn to_array(items: &[Self]) -> Array {
        Array::String(items.iter().map(|s| cut_str(s)).collect())
    }
}

impl ArrayElement for String {
    fn to_array(items: &[Self]) -> Array {
        Array::String(items.iter().map(|s| cut_str(s)).collect())
    }
}

impl ArrayElement for Cow<'_, str> {
    fn to_array(items: &[Self]) -> Array {
        Array::String(items.iter().map(|s| cut_str(s)).collect())
    }
}

impl<T: ArrayElement> AttributeValue for [T] {
    fn to_value(&self) -> Option<Value> {
        Some(Value::Array(T::to_array(self)))
    }
}

impl<T: ArrayElement, const N: usize> AttributeValue for [T; N] {
    fn to_value(&self) -> Option<Value> {
        self.as_slice().to_value()
    }
}

impl<T: ArrayElement> AttributeValue for Vec<T> {
    fn to_value(&self) -> Option<Value> {
        self.as_slice().to_value()
    }
}

impl AttributeValue for Value {
    fn to_value(&self) -> Option<Value> {
        Some(self.clone())
    }
}

/// `s`, cut to [`MAX_STRING_BYTES`] on a char boundary.
pub(crate) fn cut_str(s: &str) -> StringValue {
    StringValue::from(cut_to(s, MAX_STRING_BYTES).to_owned())
}

/// `s` cut to at most `room` bytes, on a char boundary.
pub(crate) fn cut_to(s: &str, room: usize) -> &str {
    if s.len() <= room {
        return s;
    }
    let mut end = room;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

/// Formats `value` into a string of at most [`MAX_STRING_BYTES`], without formatting the rest.
pub(crate) fn cut_format(value: fmt::Arguments<'_>) -> String {
    // Most messages fit: one allocation instead of a few growing ones.
    let mut out = String::with_capacity(64);
    format_into(&mut out, value);
    out
}

/// Appends `value` formatted to `out`, up to [`MAX_STRING_BYTES`] in all, without formatting
/// the rest.
pub(crate) fn format_into(out: &mut String, value: fmt::Arguments<'_>) {
    struct Bounded<'a>(&'a mut String);

    impl fmt::Write for Bounded<'_> {
        fn write_str(&mut self, s: &str) -> fmt::Result {
            let room = MAX_STRING_BYTES.saturating_sub(self.0.len());
            if s.len() <= room {
                self.0.push_str(s);
                return Ok(());
            }
            self.0.push_str(cut_to(s, room));
            // Stops the formatter: the rest would be cut anyway.
            Err(fmt::Error)
        }
    }

    let _ = fmt::write(&mut Bounded(out), value);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_strings_are_cut_on_a_char_boundary() {
        let s = "é".repeat(3000); // 6000 bytes, 2-byte chars
        let Some(Value::String(v)) = s.to_value() else {
            panic!("not a string")
        };
        assert_eq!(v.as_str().len(), MAX_STRING_BYTES);
        let odd = format!("a{s}");
        let Some(Value::String(v)) = odd.to_value() else {
            panic!("not a string")
        };
        assert_eq!(v.as_str().len(), MAX_STRING_BYTES - 1);
    }

    #[test]
    fn formatting_stops_at_the_limit() {
        let s = "x".repeat(10_000);
        assert_eq!(cut_format(format_args!("{s}")).len(), MAX_STRING_BYTES);
        assert_eq!(cut_format(format_args!("{}", 42)), "42");
    }

    #[test]
    fn unsigned_above_i64_max_is_a_decimal_string() {
        assert_eq!(
            u64::MAX.to_value(),
            Some(Value::String("18446744073709551615".into()))
        );
        assert_eq!(7_u64.to_value(), Some(Value::I64(7)));
        assert_eq!(
            vec![1_u64, u64::MAX].to_value(),
            Some(Value::Array(Array::String(vec![
                "1".into(),
                "18446744073709551615".into()
            ])))
        );
    }
}
