//! Parsers for the value formats `OTEL_*` variables use.

use std::time::Duration;

use percent_encoding::percent_decode_str;

use crate::settings::{Compression, Propagator};

/// Parses a `k=v,k2=v2` list (W3C-baggage style, as `OTEL_RESOURCE_ATTRIBUTES` and
/// `OTEL_EXPORTER_OTLP_HEADERS` use), trimming whitespace and percent-decoding keys and values.
///
/// Empty members (`a=1,,b=2`, a trailing comma) are skipped; a member without `=` or with an
/// empty key is an error that names the member's position. Values are not echoed in errors,
/// since header lists carry secrets.
pub(crate) fn key_value_list(input: &str) -> Result<Vec<(String, String)>, String> {
    let mut pairs = Vec::new();
    for (index, member) in input.split(',').enumerate() {
        let member = member.trim();
        if member.is_empty() {
            continue;
        }
        let position = index + 1;
        let Some((key, value)) = member.split_once('=') else {
            return Err(format!(
                "entry {position} has no `=`; expected a comma-separated list of key=value"
            ));
        };
        let key = decode(key.trim()).map_err(|e| format!("entry {position}: key {e}"))?;
        if key.is_empty() {
            return Err(format!("entry {position} has an empty key"));
        }
        let value = decode(value.trim()).map_err(|e| format!("entry {position}: value {e}"))?;
        pairs.push((key, value));
    }
    Ok(pairs)
}

fn decode(raw: &str) -> Result<String, &'static str> {
    percent_decode_str(raw)
        .decode_utf8()
        .map(|decoded| decoded.into_owned())
        .map_err(|_| "is not UTF-8 after percent-decoding")
}

/// Parses a duration given in whole milliseconds.
pub(crate) fn millis(input: &str) -> Result<Duration, String> {
    let trimmed = input.trim();
    match trimmed.parse::<u64>() {
        Ok(0) => Err("must be more than 0 milliseconds".to_owned()),
        Ok(ms) => Ok(Duration::from_millis(ms)),
        Err(_) => Err(format!(
            "expected milliseconds as a whole number, got {trimmed:?}"
        )),
    }
}

/// Parses a positive count (queue and batch sizes).
pub(crate) fn count(input: &str) -> Result<usize, String> {
    let trimmed = input.trim();
    match trimmed.parse::<usize>() {
        Ok(0) => Err("must be at least 1".to_owned()),
        Ok(n) => Ok(n),
        Err(_) => Err(format!("expected a whole number, got {trimmed:?}")),
    }
}

/// Parses a sampling ratio in `0.0..=1.0`.
pub(crate) fn ratio(input: &str) -> Result<f64, String> {
    let trimmed = input.trim();
    match trimmed.parse::<f64>() {
        Ok(r) if (0.0..=1.0).contains(&r) => Ok(r),
        Ok(_) => Err(format!("expected a ratio from 0 to 1, got {trimmed:?}")),
        Err(_) => Err(format!("expected a number from 0 to 1, got {trimmed:?}")),
    }
}

/// Parses `true`/`false` (any case).
pub(crate) fn boolean(input: &str) -> Result<bool, String> {
    match input.trim().to_ascii_lowercase().as_str() {
        "true" => Ok(true),
        "false" => Ok(false),
        other => Err(format!("expected true or false, got {other:?}")),
    }
}

/// Checks that `input` is an absolute `http://` or `https://` URL with a host.
pub(crate) fn http_url(input: &str) -> Result<String, String> {
    let trimmed = input.trim();
    let uri: http::Uri = trimmed
        .parse()
        .map_err(|e| format!("{trimmed:?} is not a valid URL ({e})"))?;
    match uri.scheme_str() {
        Some("http" | "https") => {}
        Some(other) => {
            return Err(format!(
                "{trimmed:?} has scheme {other:?}; expected http or https"
            ))
        }
        None => {
            return Err(format!(
                "{trimmed:?} is not an absolute URL; expected http://host:port/path or https://…"
            ))
        }
    }
    if uri.host().is_none_or(str::is_empty) {
        return Err(format!("{trimmed:?} has no host"));
    }
    Ok(trimmed.to_owned())
}

/// The `OTEL_TRACES_EXPORTER` values.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ExporterKind {
    Otlp,
    Console,
    None,
}

pub(crate) fn exporter_kind(value: &str) -> Result<ExporterKind, String> {
    match value.trim().to_ascii_lowercase().as_str() {
        "otlp" => Ok(ExporterKind::Otlp),
        "console" => Ok(ExporterKind::Console),
        "none" => Ok(ExporterKind::None),
        other => Err(format!(
            "unknown exporter {other:?}; expected otlp, console or none"
        )),
    }
}

pub(crate) fn compression(value: &str) -> Result<Compression, String> {
    match value.trim().to_ascii_lowercase().as_str() {
        "gzip" => Ok(Compression::Gzip),
        "none" => Ok(Compression::None),
        other => Err(format!(
            "unsupported compression {other:?}; expected gzip or none"
        )),
    }
}

pub(crate) fn propagators(value: &str) -> Result<Vec<Propagator>, String> {
    let mut list = Vec::new();
    for name in value.split(',').map(str::trim).filter(|n| !n.is_empty()) {
        match name.to_ascii_lowercase().as_str() {
            "tracecontext" => list.push(Propagator::TraceContext),
            "baggage" => list.push(Propagator::Baggage),
            "none" => return Ok(Vec::new()),
            other => {
                return Err(format!(
                    "unsupported propagator {other:?}; expected tracecontext, baggage or none"
                ))
            }
        }
    }
    Ok(list)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_value_list_decodes_and_trims() {
        let pairs = key_value_list(" a = 1 ,b=x%20y,, c%2Fd=%3D ").unwrap();
        assert_eq!(
            pairs,
            vec![
                ("a".to_owned(), "1".to_owned()),
                ("b".to_owned(), "x y".to_owned()),
                ("c/d".to_owned(), "=".to_owned()),
            ]
        );
    }

    #[test]
    fn key_value_list_value_may_contain_equals() {
        let pairs = key_value_list("auth=Basic a=b").unwrap();
        assert_eq!(pairs, vec![("auth".to_owned(), "Basic a=b".to_owned())]);
    }

    #[test]
    fn key_value_list_rejects_member_without_equals() {
        let err = key_value_list("a=1,secret-token").unwrap_err();
        assert!(err.contains("entry 2 has no `=`"), "{err}");
        assert!(!err.contains("secret-token"));
    }

    #[test]
    fn key_value_list_rejects_empty_key() {
        assert!(key_value_list("=v").unwrap_err().contains("empty key"));
    }

    #[test]
    fn numbers_reject_garbage_and_zero() {
        assert_eq!(millis("250").unwrap(), Duration::from_millis(250));
        assert!(millis("10s").unwrap_err().contains("\"10s\""));
        assert!(millis("0").is_err());
        assert!(count("-1").is_err());
        assert!(ratio("1.5").is_err());
        assert!(ratio("half").is_err());
        assert_eq!(ratio("0.25").unwrap(), 0.25);
    }

    #[test]
    fn urls_need_scheme_and_host() {
        assert!(http_url("http://localhost:4318/v1/traces").is_ok());
        assert!(http_url("localhost:4318").is_err());
        assert!(http_url("ftp://x/").is_err());
        assert!(http_url("http://").is_err());
        assert!(http_url("not a url").is_err());
    }

    mod properties {
        use super::super::*;
        use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
        use proptest::prelude::*;

        /// Everything but `[A-Za-z0-9._-]` is encoded, so `,`, `=`, `%` and whitespace in a
        /// key or value survive the list syntax and the trimming.
        const ENCODE: &AsciiSet = &NON_ALPHANUMERIC.remove(b'.').remove(b'_').remove(b'-');

        /// Strings dense in the characters the list syntax gives meaning to.
        fn syntax_heavy() -> impl Strategy<Value = String> {
            proptest::collection::vec(
                prop_oneof![
                    3 => prop::sample::select(vec![
                        "%", "=", ",", " ", "\t", "%2", "%20", "%3D", "%2C", "%zz", "%FF", "%C3",
                        "%C3%A9", "%E2%82", "a", "k", "\u{e9}", "\u{1F600}", "\n",
                    ])
                    .prop_map(str::to_owned),
                    1 => any::<char>().prop_map(String::from),
                ],
                0..40,
            )
            .prop_map(|parts| parts.concat())
        }

        fn encode(s: &str) -> String {
            utf8_percent_encode(s, ENCODE).to_string()
        }

        proptest! {
            #[test]
            fn key_value_list_never_panics(input in ".*") {
                let _ = key_value_list(&input);
            }

            #[test]
            fn key_value_list_never_panics_on_syntax_heavy_input(input in syntax_heavy()) {
                if let Ok(pairs) = key_value_list(&input) {
                    prop_assert!(pairs.iter().all(|(key, _)| !key.is_empty()));
                }
            }

            #[test]
            fn key_value_list_round_trips_percent_encoded_pairs(
                pairs in proptest::collection::vec((".+", ".*"), 0..8),
                padded in any::<bool>(),
            ) {
                let pad = if padded { " " } else { "" };
                let input = pairs
                    .iter()
                    .map(|(key, value)| format!("{pad}{}{pad}={pad}{}{pad}", encode(key), encode(value)))
                    .collect::<Vec<_>>()
                    .join(",");
                prop_assert_eq!(key_value_list(&input), Ok(pairs), "input {:?}", input);
            }

            #[test]
            fn key_value_list_round_trips_plain_pairs(
                pairs in proptest::collection::vec(
                    ("[A-Za-z0-9._-]{1,12}", "[A-Za-z0-9._-]([A-Za-z0-9._ -]{0,10}[A-Za-z0-9._-])?"),
                    0..8,
                ),
            ) {
                let input = pairs
                    .iter()
                    .map(|(key, value)| format!("{key}={value}"))
                    .collect::<Vec<_>>()
                    .join(",");
                prop_assert_eq!(key_value_list(&input), Ok(pairs), "input {:?}", input);
            }

            #[test]
            fn number_and_url_parsers_never_panic(input in ".*") {
                let _ = millis(&input);
                let _ = count(&input);
                let _ = ratio(&input);
                let _ = boolean(&input);
                let _ = http_url(&input);
            }

            #[test]
            fn number_and_url_parsers_never_panic_on_syntax_heavy_input(
                input in prop_oneof![
                    syntax_heavy(),
                    "[0-9 .eE+-]{0,30}",
                    "(https?|ftp)://[a-z0-9.:@\\[\\]/%?#-]{0,30}",
                ],
            ) {
                let _ = millis(&input);
                let _ = count(&input);
                if let Ok(r) = ratio(&input) {
                    prop_assert!((0.0..=1.0).contains(&r));
                }
                if let Ok(url) = http_url(&input) {
                    prop_assert!(url.starts_with("http://") || url.starts_with("https://"));
                }
            }

            #[test]
            fn millis_accepts_every_positive_whole_number(ms in 1u64.., pad in "[ \t]{0,2}") {
                prop_assert_eq!(millis(&format!("{pad}{ms}{pad}")), Ok(Duration::from_millis(ms)));
            }
        }
    }
}
