//! `#[mackerel::main]` through the crate renamed with dotted keys: the pipeline it installs
//! delivers the run's span to an OTLP receiver when `run` returns.

use std::time::Duration;

use mackerel::testing::Receiver;

#[test]
fn main_installs_and_flushes_through_the_renamed_crate() {
    let receiver = Receiver::start();
    // The only test in this binary, so nothing else reads the environment meanwhile.
    std::env::set_var("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", receiver.endpoint());
    mackerel_trace_rename_dotted::run();
    let spans = receiver.wait_for_spans(1, Duration::from_secs(5));
    let names: Vec<&str> = spans.iter().map(|s| s.name()).collect();
    assert_eq!(names, ["checkout"]);
    assert_eq!(
        spans[0].resource_string_attr("service.name"),
        Some("rename-dotted")
    );
}
