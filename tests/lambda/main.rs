//! `mackerel_trace::lambda::Layer` under the real `lambda_runtime`, in a child process whose
//! `AWS_LAMBDA_RUNTIME_API` points at a stand-in of the Runtime API on 127.0.0.1, exporting
//! to the local OTLP receiver with the batch timer ten minutes away: only the layer's export
//! can deliver anything. Once the events run out the stand-in stops answering, as a frozen
//! environment does, and the process is killed without warning: every span of every
//! invocation must already be at the receiver — and was, when the invocation's answer arrived.

mod function;
mod runtime_api;

use std::io::Read as _;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, UNIX_EPOCH};

use mackerel_trace::testing::{ReceivedSpan, Receiver, Reply};
use runtime_api::{Answer, Event, RuntimeApi};

const CALLER_TRACE: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
const CALLER_SPAN: &str = "00f067aa0ba902b7";

/// The child: this binary again, running only `function_child`.
#[test]
fn function_child() {
    if let Ok(flavor) = std::env::var(function::FLAVOR) {
        function::run(&flavor);
    }
}

/// The child process, killed when dropped; its stderr kept.
struct Function {
    child: Child,
    stderr: Arc<Mutex<String>>,
    reader: Option<JoinHandle<()>>,
}

impl Function {
    fn start(flavor: &str, api: &RuntimeApi, receiver: &Receiver) -> Function {
        let mut child = Command::new(std::env::current_exe().expect("the test binary"))
            .args([
                "--exact",
                "function_child",
                "--nocapture",
                "--test-threads=1",
            ])
            .env_clear()
            .env(function::FLAVOR, flavor)
            .env("AWS_LAMBDA_RUNTIME_API", api.address())
            .env("AWS_LAMBDA_FUNCTION_NAME", "orders")
            .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
            .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128")
            .env(
                "AWS_LAMBDA_LOG_STREAM_NAME",
                "2026/10/01/[$LATEST]0123456789abcdef",
            )
            .env("AWS_LAMBDA_LOG_GROUP_NAME", "/aws/lambda/orders")
            .env("AWS_REGION", "ap-northeast-1")
            .env("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", receiver.endpoint())
            .env("OTEL_BSP_SCHEDULE_DELAY", "600000")
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("the function starts");
        let stderr = Arc::new(Mutex::new(String::new()));
        let mut pipe = child.stderr.take().expect("stderr piped");
        let sink = Arc::clone(&stderr);
        let reader = std::thread::spawn(move || {
            let mut buffer = [0u8; 4096];
            while let Ok(read @ 1..) = pipe.read(&mut buffer) {
                if let Ok(mut text) = sink.lock() {
                    text.push_str(&String::from_utf8_lossy(&buffer[..read]));
                }
            }
        });
        Function {
            child,
            stderr,
            reader: Some(reader),
        }
    }

    /// Kills the process without warning, as Lambda may once the environment is frozen, and
    /// returns what it wrote on stderr.
    fn kill(mut self) -> String {
        self.stop();
        self.stderr.lock().map(|s| s.clone()).unwrap_or_default()
    }

    fn stderr(&self) -> String {
        self.stderr.lock().map(|s| s.clone()).unwrap_or_default()
    }

    fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if let Some(reader) = self.reader.take() {
            let _ = reader.join();
        }
    }
}

impl Drop for Function {
    fn drop(&mut self) {
        self.stop();
    }
}

/// The spans of the trace the invocation `request_id` is the SERVER span of, as `name` lines
/// (what the stand-in notes when the invocation's answer arrives).
fn spans_of(receiver: &Receiver, request_id: &str) -> Vec<String> {
    let spans = receiver.spans();
    let Some(server) = spans
        .iter()
        .find(|span| span.string_attr("faas.invocation_id") == Some(request_id))
    else {
        return Vec::new();
    };
    let trace = server.trace_id();
    let mut names: Vec<String> = spans
        .iter()
        .filter(|span| span.trace_id() == trace)
        .map(|span| span.name().to_owned())
        .collect();
    names.sort();
    names
}

fn server_span<'a>(spans: &'a [ReceivedSpan], request_id: &str) -> &'a ReceivedSpan {
    spans
        .iter()
        .find(|span| span.string_attr("faas.invocation_id") == Some(request_id))
        .unwrap_or_else(|| panic!("no span of invocation {request_id}"))
}

fn answer<'a>(answers: &'a [Answer], request_id: &str) -> &'a Answer {
    answers
        .iter()
        .find(|answer| answer.request_id == request_id)
        .unwrap_or_else(|| panic!("no answer to {request_id}: {answers:?}"))
}

/// From the handler's return to the answer's arrival: what the invocation spent exporting.
fn export_time(answer: &Answer) -> Option<Duration> {
    let body: serde_json::Value = serde_json::from_str(&answer.body).ok()?;
    let returned: u64 = body["returned_at_us"].as_str()?.parse().ok()?;
    let returned = UNIX_EPOCH + Duration::from_micros(returned);
    answer.at.duration_since(returned).ok()
}

fn api_gateway_v2(request_id: &str) -> String {
    serde_json::json!({
        "version": "2.0",
        "routeKey": "GET /orders/{id}",
        "rawPath": "/orders/7",
        "rawQueryString": "token=secret",
        "headers": {
            "host": "api.example.com",
            "user-agent": "python-requests/2.32",
            // W3C level 2's random flag, as the Python SDK sends it.
            "traceparent": format!("00-{CALLER_TRACE}-{CALLER_SPAN}-03"),
        },
        "requestContext": {
            "domainName": "api.example.com",
            "requestId": request_id,
            "http": {
                "method": "GET",
                "path": "/orders/7",
                "protocol": "HTTP/1.1",
                "sourceIp": "192.0.2.1",
                "userAgent": "python-requests/2.32",
            },
        },
        "n": 7,
        "answer": 201,
        "isBase64Encoded": false,
    })
    .to_string()
}

fn api_gateway_v1() -> String {
    serde_json::json!({
        "resource": "/users/{id}",
        "path": "/users/3",
        "httpMethod": "POST",
        "headers": { "Host": "rest.example.com" },
        "requestContext": { "resourcePath": "/users/{id}", "protocol": "HTTP/1.1" },
        "body": "{}",
        "answer": 503,
    })
    .to_string()
}

#[test]
fn every_span_of_every_invocation_is_exported_before_its_answer_and_survives_a_kill() {
    let receiver = Arc::new(Receiver::start());
    let seen = Arc::clone(&receiver);
    let api = RuntimeApi::start(
        vec![
            Event::new("req-1", r#"{"n": 1}"#),
            Event::new("req-http", api_gateway_v2("req-http")),
            Event::new("req-fail", r#"{"action": "fail"}"#),
            Event::new("req-2", r#"{"n": 2}"#),
            Event::new("req-panic", r#"{"action": "panic"}"#),
            Event::new("req-rest", api_gateway_v1()),
            Event::new("req-mismatch", r#"{"n": "seven"}"#),
            Event::new("req-3", r#"{"n": 3}"#),
        ],
        move |request_id| spans_of(&seen, request_id),
    );
    let function = Function::start("multi_thread", &api, &receiver);
    let answers = api
        .wait_until_frozen(Duration::from_secs(60))
        .unwrap_or_else(|answers| {
            panic!(
                "the function did not finish: {answers:?}\n{}",
                function.stderr()
            )
        });
    let stderr = function.kill();
    // Nothing is waited for from here on: what is not at the receiver now is lost.
    let spans = receiver.spans();
    let context = || format!("answers: {answers:#?}\nstderr:\n{stderr}");

    // Exported before the answer: the stand-in saw every span when the answer arrived.
    let with_children = ["double", "orders", "work"];
    for id in ["req-1", "req-2", "req-3"] {
        assert_eq!(
            answer(&answers, id).seen,
            with_children,
            "{id}: {}",
            context()
        );
    }
    assert_eq!(
        answer(&answers, "req-http").seen,
        ["GET /orders/{id}", "double", "work"],
        "{}",
        context()
    );
    assert_eq!(
        answer(&answers, "req-fail").seen,
        ["find_order", "orders"],
        "{}",
        context()
    );
    assert_eq!(
        answer(&answers, "req-panic").seen,
        ["orders"],
        "{}",
        context()
    );
    assert_eq!(
        answer(&answers, "req-rest").seen,
        ["POST /users/{id}", "double", "work"],
        "{}",
        context()
    );
    assert_eq!(
        answer(&answers, "req-mismatch").seen,
        ["orders"],
        "{}",
        context()
    );

    // One SERVER span per invocation, a cold start only for the first.
    let servers: Vec<&ReceivedSpan> = spans
        .iter()
        .filter(|span| span.string_attr("faas.invocation_id").is_some())
        .collect();
    assert_eq!(servers.len(), 8, "{}", context());
    for span in &servers {
        let id = span.string_attr("faas.invocation_id").unwrap_or_default();
        assert_eq!(span.span.kind, 2, "{id} is SERVER");
        assert_eq!(
            span.bool_attr("faas.coldstart"),
            Some(id == "req-1"),
            "{id}"
        );
        assert_eq!(
            span.string_attr("aws.lambda.invoked_arn"),
            Some(runtime_api::FUNCTION_ARN)
        );
        assert_eq!(span.string_attr("cloud.account.id"), Some("123456789012"));
    }

    // A plain event: named by the function, its handler's spans below it.
    let plain = server_span(&spans, "req-1");
    assert_eq!(plain.name(), "orders");
    assert_eq!(plain.string_attr("faas.trigger"), Some("other"));
    assert!(plain.parent_span_id().is_none());
    let work = spans
        .iter()
        .find(|span| span.name() == "work" && span.trace_id() == plain.trace_id())
        .expect("work under req-1");
    assert_eq!(work.parent_span_id(), Some(plain.span_id()));
    let double = spans
        .iter()
        .find(|span| span.name() == "double" && span.trace_id() == plain.trace_id())
        .expect("double under req-1");
    assert_eq!(double.parent_span_id(), Some(work.span_id()));

    // The HTTP event: what Mackerel's HTTP view lists, one trace with its caller.
    let http = server_span(&spans, "req-http");
    assert_eq!(http.name(), "GET /orders/{id}");
    assert_eq!(http.string_attr("faas.trigger"), Some("http"));
    assert_eq!(http.string_attr("http.request.method"), Some("GET"));
    assert_eq!(http.string_attr("http.route"), Some("/orders/{id}"));
    assert_eq!(http.string_attr("url.path"), Some("/orders/7"));
    assert_eq!(http.string_attr("url.scheme"), Some("https"));
    assert_eq!(http.string_attr("server.address"), Some("api.example.com"));
    assert_eq!(
        http.string_attr("user_agent.original"),
        Some("python-requests/2.32")
    );
    assert_eq!(http.int_attr("http.response.status_code"), Some(201));
    assert_eq!(http.trace_id(), CALLER_TRACE);
    assert_eq!(http.parent_span_id().as_deref(), Some(CALLER_SPAN));
    assert!(
        !format!("{:?}", http.attr("url.query")).contains("secret"),
        "no query string"
    );

    // A REST API event answering 503: the function's error.
    let rest = server_span(&spans, "req-rest");
    assert_eq!(rest.string_attr("http.route"), Some("/users/{id}"));
    assert_eq!(rest.int_attr("http.response.status_code"), Some(503));
    assert_eq!(rest.string_attr("error.type"), Some("503"));
    assert_eq!(status(rest), 2, "status Error");

    // Err: the span is an error with the handler's message, and Lambda was told so too.
    let failed = server_span(&spans, "req-fail");
    assert_eq!(status(failed), 2);
    let exception = failed.event("exception").expect("an exception event");
    assert!(
        format!("{exception:?}").contains("order 42 not found"),
        "{exception:?}"
    );
    assert_eq!(answer(&answers, "req-fail").kind, "error");
    assert!(answer(&answers, "req-fail")
        .body
        .contains("order 42 not found"));

    // A panic: marked, and still reported to Lambda by the runtime as an error.
    let panicked = server_span(&spans, "req-panic");
    assert_eq!(status(panicked), 2);
    let exception = panicked.event("exception").expect("an exception event");
    assert!(format!("{exception:?}").contains("handler panicked on purpose"));
    assert_eq!(answer(&answers, "req-panic").kind, "error");

    // An event that does not fit the payload type: the runtime's error, on the span too.
    let mismatch = server_span(&spans, "req-mismatch");
    assert_eq!(status(mismatch), 2);
    assert_eq!(
        mismatch.string_attr("error.type"),
        Some("Runtime.UnmarshalError")
    );
    assert_eq!(answer(&answers, "req-mismatch").kind, "error");
    assert!(
        answer(&answers, "req-mismatch")
            .body
            .contains("failed to deserialize the incoming data into the function's payload type: [n] invalid type: string"),
        "{}",
        context()
    );

    // The resource from the Lambda environment.
    assert_eq!(plain.resource_string_attr("service.name"), Some("orders"));
    assert_eq!(plain.resource_string_attr("cloud.provider"), Some("aws"));
    assert_eq!(
        plain.resource_string_attr("cloud.platform"),
        Some("aws_lambda")
    );
    assert_eq!(
        plain.resource_string_attr("cloud.region"),
        Some("ap-northeast-1")
    );
    assert_eq!(plain.resource_string_attr("faas.name"), Some("orders"));
    assert_eq!(plain.resource_string_attr("faas.version"), Some("$LATEST"));
    assert_eq!(
        plain.resource_string_attr("faas.instance"),
        Some("2026/10/01/[$LATEST]0123456789abcdef")
    );
    assert!(
        format!("{:?}", plain.resource_attr("faas.max_memory")).contains("IntValue(134217728)"),
        "128 MB in bytes"
    );

    report_export_times(&answers);
}

/// The span's status code: 2 is `Error`.
fn status(span: &ReceivedSpan) -> i32 {
    span.span.status.as_ref().map_or(0, |status| status.code)
}

/// Prints the time each invocation spent exporting (median and worst) for the record.
fn report_export_times(answers: &[Answer]) {
    let mut times: Vec<Duration> = answers.iter().filter_map(export_time).collect();
    times.sort();
    assert!(!times.is_empty(), "no export time measured");
    let median = times[times.len() / 2];
    let worst = times[times.len() - 1];
    eprintln!(
        "export time per invocation over {} invocations: median {:.2} ms, worst {:.2} ms",
        times.len(),
        median.as_secs_f64() * 1000.0,
        worst.as_secs_f64() * 1000.0
    );
    assert!(worst < Duration::from_secs(5), "worst {worst:?}");
}

#[test]
fn a_current_thread_runtime_does_not_deadlock() {
    let receiver = Arc::new(Receiver::start());
    let seen = Arc::clone(&receiver);
    let api = RuntimeApi::start(
        vec![
            Event::new("ct-1", r#"{"n": 1}"#),
            Event::new("ct-http", api_gateway_v2("ct-http")),
            Event::new("ct-2", r#"{"n": 2, "sleep_ms": 20}"#),
        ],
        move |request_id| spans_of(&seen, request_id),
    );
    let function = Function::start("current_thread", &api, &receiver);
    let answers = api
        .wait_until_frozen(Duration::from_secs(30))
        .unwrap_or_else(|answers| panic!("deadlocked? {answers:?}\n{}", function.stderr()));
    let stderr = function.kill();
    assert_eq!(answers.len(), 3, "{stderr}");
    for answer in &answers {
        assert_eq!(answer.kind, "response", "{answer:?}\n{stderr}");
        assert_eq!(answer.seen.len(), 3, "{answer:?}\n{stderr}");
    }
}

#[test]
fn a_hung_endpoint_does_not_hold_an_invocation_past_its_deadline() {
    // The first export is never answered; the next ones are.
    let receiver = Arc::new(Receiver::with_script(vec![Reply::hang()]));
    let seen = Arc::clone(&receiver);
    let api = RuntimeApi::start(
        vec![
            Event::new("hung", r#"{"n": 1}"#).timeout(Duration::from_millis(1500)),
            Event::new("after", r#"{"n": 2}"#),
        ],
        move |request_id| spans_of(&seen, request_id),
    );
    let function = Function::start("multi_thread", &api, &receiver);
    let answers = api
        .wait_until_frozen(Duration::from_secs(30))
        .unwrap_or_else(|answers| panic!("{answers:?}\n{}", function.stderr()));
    let stderr = function.kill();

    let hung = answer(&answers, "hung");
    assert_eq!(hung.kind, "response", "{stderr}");
    assert!(
        hung.at < hung.deadline,
        "answered {:?} after its deadline",
        hung.at.duration_since(hung.deadline).unwrap_or_default()
    );
    // It waited for the export until shortly before the deadline, no longer.
    let waited = hung.at.duration_since(hung.handed_out).unwrap_or_default();
    assert!(
        waited >= Duration::from_millis(1000),
        "waited only {waited:?}"
    );
    assert!(
        stderr.contains("the spans of Lambda invocation hung")
            && stderr.contains("were not all exported by the invocation's deadline"),
        "{stderr}"
    );

    // The next invocation exports normally, before its answer.
    let after = answer(&answers, "after");
    assert_eq!(after.seen, ["double", "orders", "work"], "{stderr}");
    assert!(
        after
            .at
            .duration_since(after.handed_out)
            .unwrap_or_default()
            < Duration::from_secs(5),
        "{stderr}"
    );
}

#[test]
fn the_function_name_is_the_default_service_name_and_what_is_set_still_wins() {
    let lambda = [
        ("AWS_LAMBDA_FUNCTION_NAME", "orders"),
        ("AWS_REGION", "ap-northeast-1"),
        ("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "1769"),
    ];
    let service = |config: mackerel_trace::Config, extra: &[(&str, &str)]| {
        let vars = lambda.iter().chain(extra).copied();
        let settings = config.with_env_vars(vars).resolve().expect("resolves");
        settings.resource_attribute("service.name")
    };
    let under_main = || mackerel_trace::Config::new().default_service_name("orders-crate");
    assert_eq!(service(under_main(), &[]).as_deref(), Some("orders"));
    assert_eq!(
        service(under_main().service_name("in-code"), &[]).as_deref(),
        Some("in-code")
    );
    assert_eq!(
        service(under_main(), &[("OTEL_SERVICE_NAME", "from-env")]).as_deref(),
        Some("from-env")
    );
    let settings = mackerel_trace::Config::new()
        .with_env_vars(lambda)
        .resolve()
        .expect("resolves");
    assert_eq!(
        settings.resource_attribute("faas.max_memory").as_deref(),
        Some("1854930944")
    );
    // Off Lambda, nothing of it.
    let settings = mackerel_trace::Config::new()
        .with_env_vars([("AWS_REGION", "ap-northeast-1")])
        .resolve()
        .expect("resolves");
    assert_eq!(settings.resource_attribute("cloud.provider"), None);
}

#[test]
fn the_traced_handler_is_send_and_fits_lambda_runtime_run() {
    use lambda_runtime::tower::{Service as _, ServiceBuilder};
    use lambda_runtime::{Context, LambdaEvent};

    fn send<T: Send + 'static>(_: &T) {}
    let handler = ServiceBuilder::new()
        .layer(mackerel_trace::lambda::Layer::new())
        .service_fn(function::handler);
    let mut traced = handler.clone();
    let payload = serde_json::from_str(r#"{"n": 1}"#).expect("a payload");
    let future = traced.call(LambdaEvent::new(payload, Context::default()));
    // What `run_concurrent` (Lambda Managed Instances) asks of a handler's future.
    send(&future);
    send(&traced);
    // `lambda_runtime::run` takes it as it takes any handler (not run: no Runtime API here).
    drop(lambda_runtime::run(handler));
}
