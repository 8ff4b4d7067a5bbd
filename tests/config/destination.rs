#[allow(unused_imports)]
use super::*;
// ---------------------------------------------------------------------------------------------
// destination

#[test]
fn traces_endpoint_variable_is_used_verbatim_with_its_custom_path() {
    let settings = resolve(&[(
        "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
        "http://collector:4318/custom/path",
    )]);
    assert_eq!(
        settings.destination(),
        &Destination::Endpoint("http://collector:4318/custom/path".to_owned())
    );
    assert_eq!(
        settings.endpoint(),
        Some("http://collector:4318/custom/path")
    );
}

#[test]
fn generic_endpoint_variable_gets_v1_traces_appended() {
    for base in ["http://localhost:4318", "http://localhost:4318/"] {
        let settings = resolve(&[("OTEL_EXPORTER_OTLP_ENDPOINT", base)]);
        assert_eq!(
            settings.endpoint(),
            Some("http://localhost:4318/v1/traces"),
            "base {base:?}"
        );
    }
    let settings = resolve(&[("OTEL_EXPORTER_OTLP_ENDPOINT", "https://gw.example/otlp/")]);
    assert_eq!(
        settings.endpoint(),
        Some("https://gw.example/otlp/v1/traces")
    );
}

#[test]
fn traces_endpoint_variable_beats_generic_endpoint_variable() {
    let settings = resolve(&[
        ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://generic:4318"),
        ("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "http://traces:4318/t"),
    ]);
    assert_eq!(settings.endpoint(), Some("http://traces:4318/t"));
}

#[test]
fn endpoint_variables_beat_config_endpoint() {
    let config = || Config::new().endpoint("http://from-code:4318/v1/traces");
    let settings = resolve_with(
        config(),
        &[("OTEL_EXPORTER_OTLP_ENDPOINT", "http://from-env:4318")],
    );
    assert_eq!(settings.endpoint(), Some("http://from-env:4318/v1/traces"));
    let settings = resolve_with(
        config(),
        &[(
            "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
            "http://from-env:4318/x",
        )],
    );
    assert_eq!(settings.endpoint(), Some("http://from-env:4318/x"));
}

#[test]
fn config_endpoint_is_used_as_is_when_no_variable_is_set() {
    let settings = resolve_with(
        Config::new().endpoint("http://localhost:4318/my/traces"),
        &[],
    );
    assert_eq!(
        settings.destination(),
        &Destination::Endpoint("http://localhost:4318/my/traces".to_owned())
    );
}

#[test]
fn api_key_alone_sends_to_mackerel() {
    let settings = resolve(&[("MACKEREL_APIKEY", KEY)]);
    assert_eq!(settings.destination(), &Destination::Mackerel);
    assert_eq!(settings.endpoint(), Some(MACKEREL_ENDPOINT));
    assert_eq!(
        MACKEREL_ENDPOINT,
        "https://otlp-vaxila.mackerelio.com/v1/traces"
    );
    assert!(settings.has_api_key());
    assert!(settings.is_enabled());

    let settings = resolve_with(Config::new().api_key(KEY), &[]);
    assert_eq!(settings.destination(), &Destination::Mackerel);
}

#[test]
fn nothing_configured_turns_tracing_off_for_no_destination() {
    let settings = resolve(&[]);
    assert_eq!(
        settings.destination(),
        &Destination::Off(OffReason::NoDestination)
    );
    assert_eq!(settings.endpoint(), None);
    assert!(!settings.is_enabled());
    assert!(!settings.has_api_key());
}

#[test]
fn endpoint_without_api_key_exports_there_without_a_key() {
    let settings = resolve(&[(
        "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
        "http://localhost:4318/v1/traces",
    )]);
    assert_eq!(
        settings.destination(),
        &Destination::Endpoint("http://localhost:4318/v1/traces".to_owned())
    );
    assert!(!settings.has_api_key());
    assert!(settings.is_enabled());
}

#[test]
fn endpoint_and_api_key_export_to_the_endpoint_with_the_key() {
    let settings = resolve(&[
        ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://localhost:4318"),
        ("MACKEREL_APIKEY", KEY),
    ]);
    assert_eq!(settings.endpoint(), Some("http://localhost:4318/v1/traces"));
    assert!(settings.has_api_key());
}

#[test]
fn traces_exporter_variable_selects_console_none_or_otlp() {
    let with_key = |exporter: &'static str| {
        resolve(&[("OTEL_TRACES_EXPORTER", exporter), ("MACKEREL_APIKEY", KEY)])
    };
    let console = with_key("console");
    assert_eq!(console.destination(), &Destination::Console);
    assert_eq!(console.endpoint(), None);
    assert!(console.is_enabled());

    let none = with_key("none");
    assert_eq!(
        none.destination(),
        &Destination::Off(OffReason::ExporterNone)
    );
    assert!(!none.is_enabled());

    assert_eq!(with_key("otlp").destination(), &Destination::Mackerel);
    assert_eq!(with_key(" OTLP ").destination(), &Destination::Mackerel);
    assert_eq!(with_key("Console").destination(), &Destination::Console);

    // Without a key or endpoint, `otlp` has nowhere to send.
    assert_eq!(
        resolve(&[("OTEL_TRACES_EXPORTER", "otlp")]).destination(),
        &Destination::Off(OffReason::NoDestination)
    );
}

#[test]
fn traces_exporter_variable_beats_config_console() {
    let settings = resolve_with(
        Config::new().console(),
        &[("OTEL_TRACES_EXPORTER", "otlp"), ("MACKEREL_APIKEY", KEY)],
    );
    assert_eq!(settings.destination(), &Destination::Mackerel);
    let settings = resolve_with(Config::new().console(), &[("OTEL_TRACES_EXPORTER", "none")]);
    assert_eq!(
        settings.destination(),
        &Destination::Off(OffReason::ExporterNone)
    );
}

#[test]
fn sdk_disabled_beats_everything() {
    let config = Config::new()
        .console()
        .fallback_to_console()
        .api_key(KEY)
        .endpoint("http://localhost:4318/v1/traces");
    let settings = resolve_with(
        config,
        &[
            ("OTEL_SDK_DISABLED", "true"),
            ("OTEL_TRACES_EXPORTER", "console"),
            ("MACKEREL_APIKEY", KEY),
            (
                "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
                "http://x:4318/v1/traces",
            ),
            ("OTEL_TRACES_SAMPLER", "always_on"),
        ],
    );
    assert_eq!(
        settings.destination(),
        &Destination::Off(OffReason::Disabled)
    );
    assert_eq!(settings.endpoint(), None);
    assert!(!settings.is_enabled());

    for value in ["TRUE", " True "] {
        let settings = resolve(&[("OTEL_SDK_DISABLED", value), ("MACKEREL_APIKEY", KEY)]);
        assert_eq!(
            settings.destination(),
            &Destination::Off(OffReason::Disabled)
        );
    }
    let settings = resolve(&[("OTEL_SDK_DISABLED", "false"), ("MACKEREL_APIKEY", KEY)]);
    assert_eq!(settings.destination(), &Destination::Mackerel);
}

#[test]
fn config_console_prints_to_stderr_even_with_a_key() {
    let settings = resolve_with(Config::new().console(), &[]);
    assert_eq!(settings.destination(), &Destination::Console);
    assert!(settings.is_enabled());
    let settings = resolve_with(Config::new().console(), &[("MACKEREL_APIKEY", KEY)]);
    assert_eq!(settings.destination(), &Destination::Console);
}

#[test]
fn fallback_to_console_applies_only_without_key_and_endpoint() {
    let fallback = || Config::new().fallback_to_console();
    assert_eq!(
        resolve_with(fallback(), &[]).destination(),
        &Destination::Console
    );
    assert_eq!(
        resolve_with(fallback(), &[("MACKEREL_APIKEY", KEY)]).destination(),
        &Destination::Mackerel
    );
    assert_eq!(
        resolve_with(fallback().api_key(KEY), &[]).destination(),
        &Destination::Mackerel
    );
    assert_eq!(
        resolve_with(
            fallback(),
            &[("OTEL_EXPORTER_OTLP_ENDPOINT", "http://localhost:4318")]
        )
        .destination(),
        &Destination::Endpoint("http://localhost:4318/v1/traces".to_owned())
    );
    assert_eq!(
        resolve_with(fallback().endpoint("http://c:4318/v1/traces"), &[]).destination(),
        &Destination::Endpoint("http://c:4318/v1/traces".to_owned())
    );
    // An explicit "export nothing" is not overridden by the fallback.
    assert_eq!(
        resolve_with(fallback(), &[("OTEL_TRACES_EXPORTER", "none")]).destination(),
        &Destination::Off(OffReason::ExporterNone)
    );
}
