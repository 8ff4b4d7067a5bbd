#[allow(unused_imports)]
use super::*;
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
