#[allow(unused_imports)]
use super::*;
// ---------------------------------------------------------------------------------------------
// API key

#[test]
fn mackerel_apikey_beats_mackerel_api_key_beats_config_api_key() {
    // Which key won is observable through a header carrying the same key: equal is fine,
    // different is a conflict naming the key's origin.
    let config = || Config::new().api_key("code-key");
    let all = [
        ("MACKEREL_APIKEY", "apikey-key"),
        ("MACKEREL_API_KEY", "api-key-key"),
    ];
    let winner = |config: Config, vars: &[(&str, &str)], expected: &str| {
        let mut with_header = vars.to_vec();
        let header = format!("Mackerel-Api-Key={expected}");
        with_header.push(("OTEL_EXPORTER_OTLP_HEADERS", &header));
        let settings = resolve_with(config.clone(), &with_header);
        assert!(settings.has_api_key());
        let mut with_other = vars.to_vec();
        with_other.push((
            "OTEL_EXPORTER_OTLP_HEADERS",
            "Mackerel-Api-Key=someone-else",
        ));
        let err = error_with(config, &with_other);
        assert_eq!(err.origin(), "OTEL_EXPORTER_OTLP_HEADERS");
        err
    };
    let err = winner(config(), &all, "apikey-key");
    assert!(err.problem().contains("MACKEREL_APIKEY"), "{err}");
    let err = winner(config(), &all[1..], "api-key-key");
    assert!(err.problem().contains("MACKEREL_API_KEY"), "{err}");
    let err = winner(config(), &[], "code-key");
    assert!(err.problem().contains("Config::api_key"), "{err}");

    assert!(resolve(&[("MACKEREL_API_KEY", KEY)]).has_api_key());
}

#[test]
fn api_key_header_counts_as_the_key_when_no_other_key_is_set() {
    for var in [
        "OTEL_EXPORTER_OTLP_HEADERS",
        "OTEL_EXPORTER_OTLP_TRACES_HEADERS",
    ] {
        for name in ["Mackerel-Api-Key", "mackerel-api-key"] {
            let header = format!("{name}={KEY}");
            let settings = resolve(&[(var, &header)]);
            assert!(settings.has_api_key(), "{var}={header}");
            assert_eq!(settings.destination(), &Destination::Mackerel);
            // The key is the key, not an extra header sent a second time.
            assert_eq!(header_names(&settings), "[]");
        }
    }
}

#[test]
fn different_keys_in_headers_and_key_variable_are_an_error_without_either_key() {
    let header = format!("Mackerel-Api-Key={OTHER_KEY}");
    let cases = [
        (
            Config::new(),
            vec![
                ("MACKEREL_APIKEY", KEY),
                ("OTEL_EXPORTER_OTLP_HEADERS", header.as_str()),
            ],
            "OTEL_EXPORTER_OTLP_HEADERS",
        ),
        (
            Config::new(),
            vec![
                ("MACKEREL_API_KEY", KEY),
                ("OTEL_EXPORTER_OTLP_TRACES_HEADERS", header.as_str()),
            ],
            "OTEL_EXPORTER_OTLP_TRACES_HEADERS",
        ),
        (
            Config::new().api_key(KEY),
            vec![("OTEL_EXPORTER_OTLP_HEADERS", header.as_str())],
            "OTEL_EXPORTER_OTLP_HEADERS",
        ),
    ];
    for (config, vars, origin) in cases {
        let err = error_with(config, &vars);
        assert_eq!(err.origin(), origin, "{vars:?}");
        let text = format!("{err} {err:?}");
        assert!(text.contains("Mackerel-Api-Key"), "{text}");
        assert!(!text.contains(KEY), "key leaked: {text}");
        assert!(!text.contains(OTHER_KEY), "header key leaked: {text}");
    }
}

#[test]
fn same_key_in_headers_and_key_variable_is_fine() {
    let header = format!("Mackerel-Api-Key={KEY}");
    let settings = resolve(&[
        ("MACKEREL_APIKEY", KEY),
        ("OTEL_EXPORTER_OTLP_HEADERS", &header),
    ]);
    assert!(settings.has_api_key());
    assert_eq!(settings.destination(), &Destination::Mackerel);
    let settings = resolve_with(
        Config::new().api_key(KEY),
        &[("OTEL_EXPORTER_OTLP_HEADERS", &header)],
    );
    assert!(settings.has_api_key());
}

#[test]
fn same_key_with_surrounding_whitespace_in_the_key_variable_is_not_a_conflict() {
    // The key is trimmed before use (as the header list's values are), so a trailing newline
    // from `MACKEREL_APIKEY=$(cat key.txt)`-style setups is the same key.
    let header = format!("Mackerel-Api-Key={KEY}");
    let padded = format!("{KEY}\n");
    let settings = resolve(&[
        ("MACKEREL_APIKEY", &padded),
        ("OTEL_EXPORTER_OTLP_HEADERS", &header),
    ]);
    assert!(settings.has_api_key());
}

#[test]
fn api_key_that_cannot_be_a_header_value_is_an_error_without_the_key() {
    let err = error(&[("MACKEREL_APIKEY", "secret-part\nmore")]);
    assert_eq!(err.origin(), "MACKEREL_APIKEY");
    assert!(err.problem().contains("API key"), "{err}");
    assert!(!err.to_string().contains("secret-part"), "{err}");
}

#[test]
fn debug_output_never_shows_the_key_or_header_values() {
    let config = Config::new()
        .api_key(KEY)
        .header("X-Tenant", "tenant-secret-value")
        .with_env_vars([
            ("MACKEREL_API_KEY", OTHER_KEY),
            (
                "OTEL_EXPORTER_OTLP_HEADERS",
                "authorization=Bearer s3cret-token",
            ),
        ]);
    for debug in [format!("{config:?}"), format!("{config:#?}")] {
        assert!(!debug.contains(KEY), "{debug}");
        assert!(!debug.contains(OTHER_KEY), "{debug}");
        assert!(!debug.contains("tenant-secret-value"), "{debug}");
        assert!(!debug.contains("s3cret-token"), "{debug}");
    }

    let settings = config.resolve().unwrap();
    for debug in [format!("{settings:?}"), format!("{settings:#?}")] {
        assert!(!debug.contains(KEY), "{debug}");
        assert!(!debug.contains(OTHER_KEY), "{debug}");
        assert!(!debug.contains("tenant-secret-value"), "{debug}");
        assert!(!debug.contains("s3cret"), "{debug}");
        assert!(
            debug.contains("X-Tenant"),
            "header names are shown: {debug}"
        );
        assert!(debug.contains("authorization"), "{debug}");
    }
    assert!(settings.has_api_key());
}
