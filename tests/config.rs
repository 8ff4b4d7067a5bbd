//! The configuration contract (SPEC §3–4): where traces go, the API key and headers, each
//! `OTEL_*`/`MACKEREL_*` variable and its precedence over code, the resource, and one named,
//! secret-free error for every malformed value.
//!
//! Every test supplies its variables with `Config::with_env_vars`; none reads or changes the
//! real process environment.

use std::time::Duration;

use mackerel_trace::{
    Compression, Config, Destination, Error, OffReason, Sampler, Settings, MACKEREL_ENDPOINT,
};

// ---------------------------------------------------------------------------------------------
// helpers

fn resolve(vars: &[(&str, &str)]) -> Settings {
    resolve_with(Config::new(), vars)
}

fn resolve_with(config: Config, vars: &[(&str, &str)]) -> Settings {
    config
        .with_env_vars(vars.iter().copied())
        .resolve()
        .unwrap_or_else(|err| panic!("expected {vars:?} to resolve, got error: {err}"))
}

fn error(vars: &[(&str, &str)]) -> Error {
    error_with(Config::new(), vars)
}

fn error_with(config: Config, vars: &[(&str, &str)]) -> Error {
    match config.with_env_vars(vars.iter().copied()).resolve() {
        Ok(settings) => panic!("expected {vars:?} to be an error, got {settings:?}"),
        Err(err) => err,
    }
}

/// A top-level field of `Settings`' pretty `Debug` output, for the options that have no
/// accessor of their own (compression, batch processor sizes and delays).
fn field(settings: &Settings, name: &str) -> String {
    let debug = format!("{settings:#?}");
    let prefix = format!("    {name}: ");
    debug
        .lines()
        .find_map(|line| line.strip_prefix(&prefix))
        .map(|value| value.trim_end_matches(',').to_owned())
        .unwrap_or_else(|| panic!("no field {name} in {debug}"))
}

/// The names of the extra headers `Settings` will send (values are never shown).
fn header_names(settings: &Settings) -> String {
    let debug = format!("{settings:?}");
    let start = debug.find("headers: [").expect("headers field") + "headers: ".len();
    let end = start + debug[start..].find(']').expect("end of headers") + 1;
    debug[start..end].to_owned()
}

const KEY: &str = "mkr-key-1234567890";
const OTHER_KEY: &str = "mkr-key-0987654321";

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

// ---------------------------------------------------------------------------------------------
// headers

#[test]
fn traces_headers_variable_replaces_the_generic_one() {
    let settings = resolve(&[
        ("OTEL_EXPORTER_OTLP_HEADERS", "x-generic=1,x-both=g"),
        ("OTEL_EXPORTER_OTLP_TRACES_HEADERS", "x-traces=2,x-both=t"),
    ]);
    assert_eq!(header_names(&settings), r#"["x-traces", "x-both"]"#);
    let settings = resolve(&[("OTEL_EXPORTER_OTLP_HEADERS", "x-generic=1")]);
    assert_eq!(header_names(&settings), r#"["x-generic"]"#);
}

#[test]
fn header_variables_are_added_after_config_headers_and_win_for_the_same_name() {
    let settings = resolve_with(
        Config::new()
            .header("X-Tenant", "code")
            .header("X-Code", "1"),
        &[("OTEL_EXPORTER_OTLP_HEADERS", "x-tenant=env,x-env=2")],
    );
    assert_eq!(
        header_names(&settings),
        r#"["X-Code", "x-tenant", "x-env"]"#
    );
}

#[test]
fn reserved_headers_are_an_error_naming_the_header() {
    for header in [
        "Content-Type",
        "content-encoding",
        "Content-Length",
        "Accept",
        "ACCEPT",
    ] {
        let list = format!("x-ok=1,{header}=whatever-value");
        let err = error(&[("OTEL_EXPORTER_OTLP_HEADERS", &list)]);
        assert_eq!(err.origin(), "OTEL_EXPORTER_OTLP_HEADERS");
        assert!(err.problem().contains(header), "{err}");
        assert!(err.problem().contains("set by mackerel-trace"), "{err}");
        assert!(!err.to_string().contains("whatever-value"), "{err}");

        let err = error_with(Config::new().header(header, "v"), &[]);
        assert_eq!(err.origin(), "Config::header");
        assert!(err.problem().contains(header), "{err}");
    }
}

#[test]
fn invalid_header_name_is_an_error() {
    let err = error(&[("OTEL_EXPORTER_OTLP_TRACES_HEADERS", "bad%20name=v")]);
    assert_eq!(err.origin(), "OTEL_EXPORTER_OTLP_TRACES_HEADERS");
    assert!(err.problem().contains("not a valid header name"), "{err}");
    assert!(err.problem().contains("bad name"), "{err}");

    let err = error_with(Config::new().header("x(y)", "v"), &[]);
    assert_eq!(err.origin(), "Config::header");
    assert!(err.problem().contains("not a valid header name"), "{err}");
}

#[test]
fn invalid_header_value_is_an_error_without_the_value() {
    let err = error(&[("OTEL_EXPORTER_OTLP_HEADERS", "x-a=top-secret%0Aline")]);
    assert_eq!(err.origin(), "OTEL_EXPORTER_OTLP_HEADERS");
    assert!(err.problem().contains("not a valid header value"), "{err}");
    assert!(!err.to_string().contains("top-secret"), "{err}");
}

#[test]
fn header_values_never_appear_in_error_text() {
    let err = error(&[(
        "OTEL_EXPORTER_OTLP_HEADERS",
        "authorization=Bearer s3cret,broken",
    )]);
    assert_eq!(err.origin(), "OTEL_EXPORTER_OTLP_HEADERS");
    assert!(err.problem().contains("has no `=`"), "{err}");
    for text in [err.to_string(), format!("{err:?}")] {
        assert!(!text.contains("s3cret"), "{text}");
        assert!(!text.contains("broken"), "{text}");
    }
    let err = error(&[("OTEL_EXPORTER_OTLP_TRACES_HEADERS", "=s3cret")]);
    assert!(err.problem().contains("empty key"), "{err}");
    assert!(!err.to_string().contains("s3cret"), "{err}");
}

// ---------------------------------------------------------------------------------------------
// each variable and its precedence

#[test]
fn compression_defaults_to_gzip_and_accepts_gzip_or_none_in_any_case() {
    assert_eq!(field(&resolve(&[]), "compression"), "Gzip");
    for (value, expected) in [
        ("gzip", "Gzip"),
        ("GZIP", "Gzip"),
        ("none", "None"),
        (" None ", "None"),
    ] {
        for var in [
            "OTEL_EXPORTER_OTLP_COMPRESSION",
            "OTEL_EXPORTER_OTLP_TRACES_COMPRESSION",
        ] {
            assert_eq!(field(&resolve(&[(var, value)]), "compression"), expected);
        }
    }
}

#[test]
fn compression_variables_beat_code_and_traces_variable_beats_generic() {
    let code_none = || Config::new().compression(Compression::None);
    assert_eq!(
        field(&resolve_with(code_none(), &[]), "compression"),
        "None"
    );
    assert_eq!(
        field(
            &resolve_with(code_none(), &[("OTEL_EXPORTER_OTLP_COMPRESSION", "gzip")]),
            "compression"
        ),
        "Gzip"
    );
    let settings = resolve(&[
        ("OTEL_EXPORTER_OTLP_COMPRESSION", "gzip"),
        ("OTEL_EXPORTER_OTLP_TRACES_COMPRESSION", "none"),
    ]);
    assert_eq!(field(&settings, "compression"), "None");
}

#[test]
fn export_timeout_is_milliseconds_and_variables_beat_code() {
    assert_eq!(resolve(&[]).export_timeout(), Duration::from_secs(10));
    assert_eq!(
        resolve(&[("OTEL_EXPORTER_OTLP_TIMEOUT", "2500")]).export_timeout(),
        Duration::from_millis(2500)
    );
    let code = || Config::new().export_timeout(Duration::from_secs(3));
    assert_eq!(
        resolve_with(code(), &[]).export_timeout(),
        Duration::from_secs(3)
    );
    assert_eq!(
        resolve_with(code(), &[("OTEL_EXPORTER_OTLP_TIMEOUT", "700")]).export_timeout(),
        Duration::from_millis(700)
    );
    assert_eq!(
        resolve_with(
            code(),
            &[
                ("OTEL_EXPORTER_OTLP_TIMEOUT", "700"),
                ("OTEL_EXPORTER_OTLP_TRACES_TIMEOUT", "900"),
            ]
        )
        .export_timeout(),
        Duration::from_millis(900)
    );
}

#[test]
fn protocol_http_protobuf_is_accepted() {
    for var in [
        "OTEL_EXPORTER_OTLP_PROTOCOL",
        "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL",
    ] {
        assert!(resolve(&[(var, "http/protobuf")]).endpoint().is_none());
    }
    // The traces variable decides when both are set.
    resolve(&[
        ("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc"),
        ("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "http/protobuf"),
    ]);
}

#[test]
fn sampler_variable_accepts_all_six_values() {
    let cases = [
        ("always_on", &[][..], Sampler::AlwaysOn),
        ("always_off", &[], Sampler::AlwaysOff),
        ("traceidratio", &[], Sampler::TraceIdRatio(1.0)),
        (
            "traceidratio",
            &[("OTEL_TRACES_SAMPLER_ARG", "0.25")],
            Sampler::TraceIdRatio(0.25),
        ),
        ("parentbased_always_on", &[], Sampler::ParentBasedAlwaysOn),
        ("parentbased_always_off", &[], Sampler::ParentBasedAlwaysOff),
        (
            "parentbased_traceidratio",
            &[],
            Sampler::ParentBasedTraceIdRatio(1.0),
        ),
        (
            "parentbased_traceidratio",
            &[("OTEL_TRACES_SAMPLER_ARG", "0")],
            Sampler::ParentBasedTraceIdRatio(0.0),
        ),
        ("AlWays_On", &[], Sampler::AlwaysOn),
    ];
    for (value, extra, expected) in cases {
        let mut vars = vec![("OTEL_TRACES_SAMPLER", value)];
        vars.extend_from_slice(extra);
        assert_eq!(resolve(&vars).sampler(), expected, "{vars:?}");
    }
}

#[test]
fn sampler_defaults_to_parent_based_always_on_and_variable_beats_code() {
    assert_eq!(resolve(&[]).sampler(), Sampler::ParentBasedAlwaysOn);
    let code = || Config::new().sampler(Sampler::TraceIdRatio(0.1));
    assert_eq!(
        resolve_with(code(), &[]).sampler(),
        Sampler::TraceIdRatio(0.1)
    );
    assert_eq!(
        resolve_with(code(), &[("OTEL_TRACES_SAMPLER", "always_on")]).sampler(),
        Sampler::AlwaysOn
    );
    // The argument alone does not replace a sampler set in code.
    assert_eq!(
        resolve_with(code(), &[("OTEL_TRACES_SAMPLER_ARG", "0.5")]).sampler(),
        Sampler::TraceIdRatio(0.1)
    );
}

#[test]
fn always_off_sampler_means_tracing_is_not_enabled() {
    let settings = resolve(&[
        ("OTEL_TRACES_SAMPLER", "always_off"),
        ("MACKEREL_APIKEY", KEY),
    ]);
    assert_eq!(settings.destination(), &Destination::Mackerel);
    assert!(!settings.is_enabled());
    let settings = resolve_with(Config::new().sampler(Sampler::AlwaysOff).console(), &[]);
    assert!(!settings.is_enabled());
}

#[test]
fn batch_processor_defaults() {
    let settings = resolve(&[]);
    assert_eq!(field(&settings, "schedule_delay"), "5s");
    assert_eq!(field(&settings, "max_queue_size"), "16384");
    assert_eq!(field(&settings, "max_export_batch_size"), "4096");
    assert_eq!(field(&settings, "bsp_export_timeout"), "30s");
}

#[test]
fn batch_processor_variables_beat_code() {
    let code = Config::new()
        .schedule_delay(Duration::from_millis(1500))
        .max_queue_size(1000)
        .max_export_batch_size(100);
    let settings = resolve_with(code.clone(), &[]);
    assert_eq!(field(&settings, "schedule_delay"), "1.5s");
    assert_eq!(field(&settings, "max_queue_size"), "1000");
    assert_eq!(field(&settings, "max_export_batch_size"), "100");

    let settings = resolve_with(
        code,
        &[
            ("OTEL_BSP_SCHEDULE_DELAY", "250"),
            ("OTEL_BSP_MAX_QUEUE_SIZE", "2048"),
            ("OTEL_BSP_MAX_EXPORT_BATCH_SIZE", "512"),
            ("OTEL_BSP_EXPORT_TIMEOUT", "7000"),
        ],
    );
    assert_eq!(field(&settings, "schedule_delay"), "250ms");
    assert_eq!(field(&settings, "max_queue_size"), "2048");
    assert_eq!(field(&settings, "max_export_batch_size"), "512");
    assert_eq!(field(&settings, "bsp_export_timeout"), "7s");
}

#[test]
fn small_queue_size_alone_lowers_the_default_batch_size_instead_of_failing() {
    // Only the queue is configured; the built-in batch size (4096) must not turn that into an
    // error about OTEL_BSP_MAX_EXPORT_BATCH_SIZE, which nobody set.
    let settings = resolve(&[("OTEL_BSP_MAX_QUEUE_SIZE", "1000")]);
    assert_eq!(field(&settings, "max_queue_size"), "1000");
    assert_eq!(field(&settings, "max_export_batch_size"), "1000");
    let settings = resolve_with(Config::new().max_queue_size(10), &[]);
    assert_eq!(field(&settings, "max_export_batch_size"), "10");
}

#[test]
fn batch_size_set_in_code_bigger_than_queue_is_an_error_naming_the_option() {
    let err = error_with(
        Config::new().max_queue_size(10).max_export_batch_size(20),
        &[],
    );
    assert_eq!(err.origin(), "Config::max_export_batch_size");
    assert!(err.problem().contains("queue size 10"), "{err}");
    let err = error_with(
        Config::new().max_export_batch_size(20),
        &[("OTEL_BSP_MAX_QUEUE_SIZE", "10")],
    );
    assert_eq!(err.origin(), "Config::max_export_batch_size");
}

#[test]
fn service_name_variable_beats_resource_attributes_which_beat_code() {
    let code = || Config::new().service_name("from-code");
    assert_eq!(
        resolve_with(code(), &[]).resource_attribute("service.name"),
        Some("from-code".to_owned())
    );
    assert_eq!(
        resolve_with(
            code(),
            &[("OTEL_RESOURCE_ATTRIBUTES", "service.name=from-attrs")]
        )
        .resource_attribute("service.name"),
        Some("from-attrs".to_owned())
    );
    assert_eq!(
        resolve_with(
            code(),
            &[
                ("OTEL_RESOURCE_ATTRIBUTES", "service.name=from-attrs"),
                ("OTEL_SERVICE_NAME", "from-var"),
            ]
        )
        .resource_attribute("service.name"),
        Some("from-var".to_owned())
    );
}

#[test]
fn resource_attributes_are_percent_decoded_and_trimmed() {
    let settings = resolve(&[(
        "OTEL_RESOURCE_ATTRIBUTES",
        " team = a%20b , path=%2Fsrv%2Capp,k%3Dx=%3D , ,",
    )]);
    assert_eq!(settings.resource_attribute("team"), Some("a b".to_owned()));
    assert_eq!(
        settings.resource_attribute("path"),
        Some("/srv,app".to_owned())
    );
    assert_eq!(settings.resource_attribute("k=x"), Some("=".to_owned()));
}

#[test]
fn resource_attributes_variable_beats_config_resource_attribute() {
    let settings = resolve_with(
        Config::new()
            .resource_attribute("service.namespace", "code")
            .resource_attribute("team", "code-team"),
        &[("OTEL_RESOURCE_ATTRIBUTES", "service.namespace=env")],
    );
    assert_eq!(
        settings.resource_attribute("service.namespace"),
        Some("env".to_owned())
    );
    assert_eq!(
        settings.resource_attribute("team"),
        Some("code-team".to_owned())
    );
}

#[test]
fn environment_comes_from_code_and_resource_attributes_override_it() {
    let settings = resolve_with(Config::new().environment("staging"), &[]);
    assert_eq!(
        settings.resource_attribute("deployment.environment.name"),
        Some("staging".to_owned())
    );
    let settings = resolve_with(
        Config::new().environment("staging"),
        &[(
            "OTEL_RESOURCE_ATTRIBUTES",
            "deployment.environment.name=production",
        )],
    );
    assert_eq!(
        settings.resource_attribute("deployment.environment.name"),
        Some("production".to_owned())
    );
    assert_eq!(
        resolve(&[]).resource_attribute("deployment.environment.name"),
        None
    );
}

#[test]
fn service_version_comes_from_code() {
    let settings = resolve_with(Config::new().service_version("1.4.2"), &[]);
    assert_eq!(
        settings.resource_attribute("service.version"),
        Some("1.4.2".to_owned())
    );
    assert_eq!(resolve(&[]).resource_attribute("service.version"), None);
}

fn executable_name() -> String {
    std::env::current_exe()
        .unwrap()
        .file_stem()
        .unwrap()
        .to_string_lossy()
        .into_owned()
}

#[test]
fn resource_always_has_host_process_and_sdk_attributes() {
    let settings = resolve_with(
        Config::new().service_name("svc"),
        &[("OTEL_RESOURCE_ATTRIBUTES", "team=blue")],
    );
    let host = settings.resource_attribute("host.name").expect("host.name");
    assert!(!host.trim().is_empty());
    assert_eq!(
        settings.resource_attribute("process.pid"),
        Some(std::process::id().to_string())
    );
    assert_eq!(
        settings.resource_attribute("process.executable.name"),
        Some(executable_name())
    );
    assert_eq!(
        settings.resource_attribute("telemetry.sdk.language"),
        Some("rust".to_owned())
    );
    assert!(settings.resource_attribute("telemetry.sdk.name").is_some());
    assert!(settings
        .resource_attribute("telemetry.sdk.version")
        .is_some());
    assert_eq!(settings.resource_attribute("team"), Some("blue".to_owned()));
}

#[test]
fn service_name_defaults_to_the_executable_name() {
    let settings = resolve(&[]);
    assert_eq!(
        settings.resource_attribute("service.name"),
        Some(executable_name())
    );
}

#[test]
fn empty_variable_values_count_as_unset() {
    let empty = [
        "MACKEREL_APIKEY",
        "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
        "OTEL_EXPORTER_OTLP_ENDPOINT",
        "OTEL_EXPORTER_OTLP_HEADERS",
        "OTEL_EXPORTER_OTLP_TRACES_HEADERS",
        "OTEL_EXPORTER_OTLP_COMPRESSION",
        "OTEL_EXPORTER_OTLP_TRACES_COMPRESSION",
        "OTEL_EXPORTER_OTLP_PROTOCOL",
        "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL",
        "OTEL_EXPORTER_OTLP_TIMEOUT",
        "OTEL_EXPORTER_OTLP_TRACES_TIMEOUT",
        "OTEL_TRACES_EXPORTER",
        "OTEL_SERVICE_NAME",
        "OTEL_RESOURCE_ATTRIBUTES",
        "OTEL_TRACES_SAMPLER",
        "OTEL_TRACES_SAMPLER_ARG",
        "OTEL_BSP_SCHEDULE_DELAY",
        "OTEL_BSP_MAX_QUEUE_SIZE",
        "OTEL_BSP_MAX_EXPORT_BATCH_SIZE",
        "OTEL_BSP_EXPORT_TIMEOUT",
        "OTEL_SDK_DISABLED",
        "OTEL_PROPAGATORS",
    ];
    for blank in ["", "   "] {
        let mut vars: Vec<(&str, &str)> = empty.iter().map(|name| (*name, blank)).collect();
        vars.push(("MACKEREL_API_KEY", KEY));
        let code = Config::new()
            .service_name("code-name")
            .endpoint("http://code:4318/v1/traces")
            .export_timeout(Duration::from_secs(3))
            .sampler(Sampler::AlwaysOn)
            .compression(Compression::None);
        let settings = resolve_with(code, &vars);
        assert_eq!(
            settings.destination(),
            &Destination::Endpoint("http://code:4318/v1/traces".to_owned())
        );
        assert!(settings.has_api_key());
        assert_eq!(
            settings.resource_attribute("service.name"),
            Some("code-name".to_owned())
        );
        assert_eq!(settings.export_timeout(), Duration::from_secs(3));
        assert_eq!(settings.sampler(), Sampler::AlwaysOn);
        assert_eq!(field(&settings, "compression"), "None");
        assert_eq!(field(&settings, "max_queue_size"), "16384");
        assert_eq!(header_names(&settings), "[]");
    }
    // An empty signal-specific variable does not hide the generic one.
    let settings = resolve(&[
        ("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", ""),
        ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://generic:4318"),
    ]);
    assert_eq!(settings.endpoint(), Some("http://generic:4318/v1/traces"));
}

// ---------------------------------------------------------------------------------------------
// malformed values

#[test]
fn every_malformed_value_is_an_error_naming_its_origin_and_what_is_wrong() {
    struct Case {
        config: Config,
        vars: Vec<(&'static str, &'static str)>,
        origin: &'static str,
        problem: &'static str,
    }
    let env = |var: &'static str, value: &'static str, problem: &'static str| Case {
        config: Config::new(),
        vars: vec![(var, value)],
        origin: var,
        problem,
    };
    let mut cases = Vec::new();
    for var in [
        "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
        "OTEL_EXPORTER_OTLP_ENDPOINT",
    ] {
        cases.push(env(var, "localhost:4318", "not an absolute URL"));
        cases.push(env(var, "ftp://x", "expected http or https"));
        cases.push(env(var, "not a url", "is not a valid URL"));
        cases.push(env(var, "http://", "not a valid URL"));
    }
    cases.push(Case {
        config: Config::new().endpoint("nope"),
        vars: vec![],
        origin: "Config::endpoint",
        problem: "\"nope\"",
    });
    for var in [
        "OTEL_EXPORTER_OTLP_HEADERS",
        "OTEL_EXPORTER_OTLP_TRACES_HEADERS",
    ] {
        cases.push(env(var, "a=1,novalue", "entry 2 has no `=`"));
        cases.push(env(var, "=v", "entry 1 has an empty key"));
    }
    for var in [
        "OTEL_EXPORTER_OTLP_COMPRESSION",
        "OTEL_EXPORTER_OTLP_TRACES_COMPRESSION",
    ] {
        cases.push(env(var, "zstd", "unsupported compression \"zstd\""));
    }
    for var in [
        "OTEL_EXPORTER_OTLP_PROTOCOL",
        "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL",
    ] {
        cases.push(env(var, "grpc", "protocol \"grpc\" is not supported"));
        cases.push(env(
            var,
            "http/json",
            "protocol \"http/json\" is not supported",
        ));
    }
    for var in [
        "OTEL_EXPORTER_OTLP_TIMEOUT",
        "OTEL_EXPORTER_OTLP_TRACES_TIMEOUT",
        "OTEL_BSP_SCHEDULE_DELAY",
        "OTEL_BSP_EXPORT_TIMEOUT",
    ] {
        cases.push(env(
            var,
            "10s",
            "expected milliseconds as a whole number, got \"10s\"",
        ));
        cases.push(env(var, "0", "must be more than 0 milliseconds"));
        cases.push(env(
            var,
            "-5",
            "expected milliseconds as a whole number, got \"-5\"",
        ));
    }
    cases.push(env(
        "OTEL_TRACES_EXPORTER",
        "zipkin",
        "unknown exporter \"zipkin\"",
    ));
    cases.push(env(
        "OTEL_TRACES_SAMPLER",
        "sometimes",
        "unknown sampler \"sometimes\"",
    ));
    for sampler in ["traceidratio", "parentbased_traceidratio"] {
        for (arg, problem) in [
            ("1.5", "expected a ratio from 0 to 1, got \"1.5\""),
            ("-0.1", "expected a ratio from 0 to 1, got \"-0.1\""),
            ("half", "expected a number from 0 to 1, got \"half\""),
        ] {
            cases.push(Case {
                config: Config::new(),
                vars: vec![
                    ("OTEL_TRACES_SAMPLER", sampler),
                    ("OTEL_TRACES_SAMPLER_ARG", arg),
                ],
                origin: "OTEL_TRACES_SAMPLER_ARG",
                problem,
            });
        }
    }
    cases.push(env(
        "OTEL_SDK_DISABLED",
        "yes",
        "expected true or false, got \"yes\"",
    ));
    for var in ["OTEL_BSP_MAX_QUEUE_SIZE", "OTEL_BSP_MAX_EXPORT_BATCH_SIZE"] {
        cases.push(env(var, "abc", "expected a whole number, got \"abc\""));
        cases.push(env(var, "0", "must be at least 1"));
        cases.push(env(var, "-3", "expected a whole number, got \"-3\""));
    }
    cases.push(Case {
        config: Config::new(),
        vars: vec![
            ("OTEL_BSP_MAX_QUEUE_SIZE", "100"),
            ("OTEL_BSP_MAX_EXPORT_BATCH_SIZE", "200"),
        ],
        origin: "OTEL_BSP_MAX_EXPORT_BATCH_SIZE",
        problem: "200 is more than the queue size 100",
    });
    cases.push(Case {
        config: Config::new().max_queue_size(100),
        vars: vec![("OTEL_BSP_MAX_EXPORT_BATCH_SIZE", "200")],
        origin: "OTEL_BSP_MAX_EXPORT_BATCH_SIZE",
        problem: "200 is more than the queue size 100",
    });
    cases.push(env(
        "OTEL_BSP_MAX_EXPORT_BATCH_SIZE",
        "20000",
        "more than the queue size 16384",
    ));
    cases.push(env(
        "OTEL_PROPAGATORS",
        "b3",
        "unsupported propagator \"b3\"",
    ));
    cases.push(env(
        "OTEL_PROPAGATORS",
        "tracecontext,xray",
        "unsupported propagator \"xray\"",
    ));
    cases.push(env(
        "OTEL_RESOURCE_ATTRIBUTES",
        "novalue",
        "entry 1 has no `=`",
    ));
    cases.push(env(
        "OTEL_RESOURCE_ATTRIBUTES",
        "a=1,=2",
        "entry 2 has an empty key",
    ));

    let mut failures = Vec::new();
    for case in cases {
        let result = case
            .config
            .clone()
            .with_env_vars(case.vars.iter().copied())
            .resolve();
        let err = match result {
            Ok(_) => {
                failures.push(format!("{:?}: resolved, expected an error", case.vars));
                continue;
            }
            Err(err) => err,
        };
        if err.origin() != case.origin || !err.problem().contains(case.problem) {
            failures.push(format!(
                "{:?}: expected origin {} and problem containing {:?}, got {err}",
                case.vars, case.origin, case.problem
            ));
        }
        if err.to_string() != format!("{}: {}", err.origin(), err.problem()) {
            failures.push(format!("{:?}: Display is {err}", case.vars));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn sampler_argument_is_ignored_for_samplers_that_take_none() {
    let settings = resolve(&[
        ("OTEL_TRACES_SAMPLER", "always_on"),
        ("OTEL_TRACES_SAMPLER_ARG", "half"),
    ]);
    assert_eq!(settings.sampler(), Sampler::AlwaysOn);
}

#[test]
fn propagators_accept_the_supported_names() {
    for value in [
        "tracecontext,baggage",
        "tracecontext",
        "baggage",
        "none",
        "TraceContext , Baggage",
    ] {
        resolve(&[("OTEL_PROPAGATORS", value)]);
    }
}
