#[allow(unused_imports)]
use super::*;
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
