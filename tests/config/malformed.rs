#[allow(unused_imports)]
use super::*;
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
