//! The resource every span is reported under: service, deployment, host, process, SDK.

use opentelemetry::{KeyValue, Value};

use super::vars::Vars;
use super::{parse, Config};
use crate::Error;

/// Resource attributes, lowest precedence first: detected defaults (on AWS Lambda, with the
/// `lambda` feature, the function's), values set in code,
/// `OTEL_RESOURCE_ATTRIBUTES`, then `OTEL_SERVICE_NAME` (which the OpenTelemetry spec says
/// beats `service.name` inside `OTEL_RESOURCE_ATTRIBUTES`).
pub(super) fn resolve(config: &Config, vars: &Vars<'_>) -> Result<Vec<KeyValue>, Error> {
    let mut attrs = Attrs::default();
    let executable = executable_name();
    let default_service = config
        .default_service_name
        .clone()
        .or_else(|| executable.clone())
        .unwrap_or_else(|| "unknown_service".to_owned());
    attrs.set("service.name", default_service);
    // `telemetry.sdk.{name,language,version}`, as the SDK itself reports them.
    let sdk = opentelemetry_sdk::resource::ResourceDetector::detect(
        &opentelemetry_sdk::resource::TelemetryResourceDetector,
    );
    for (key, value) in sdk.iter() {
        attrs.set(key.clone(), value.clone());
    }
    if let Some(host) = host_name() {
        attrs.set("host.name", host);
    }
    attrs.set("process.pid", i64::from(std::process::id()));
    if let Some(executable) = executable {
        attrs.set("process.executable.name", executable);
    }
    // On AWS Lambda: cloud.*, faas.*, and the function's name as the default service.name.
    #[cfg(feature = "lambda")]
    for kv in crate::lambda::resource_attributes(|name| vars.get(name).map(|(_, value)| value)) {
        attrs.set(kv.key, kv.value);
    }

    if let Some(name) = &config.service_name {
        attrs.set("service.name", name.clone());
    }
    if let Some(version) = &config.service_version {
        attrs.set("service.version", version.clone());
    }
    if let Some(environment) = &config.environment {
        attrs.set("deployment.environment.name", environment.clone());
    }
    for (key, value) in &config.resource_attributes {
        attrs.set(key.clone(), value.clone());
    }

    if let Some((name, value)) = vars.get("OTEL_RESOURCE_ATTRIBUTES") {
        for (key, value) in parse::key_value_list(&value).map_err(|p| Error::new(name, p))? {
            attrs.set(key, value);
        }
    }
    if let Some((_, name)) = vars.get("OTEL_SERVICE_NAME") {
        attrs.set("service.name", name.trim().to_owned());
    }
    Ok(attrs.0)
}

#[derive(Default)]
struct Attrs(Vec<KeyValue>);

impl Attrs {
    fn set(&mut self, key: impl Into<opentelemetry::Key>, value: impl Into<Value>) {
        let kv = KeyValue::new(key, value);
        match self.0.iter_mut().find(|existing| existing.key == kv.key) {
            Some(existing) => *existing = kv,
            None => self.0.push(kv),
        }
    }
}

fn executable_name() -> Option<String> {
    let path = std::env::current_exe().ok()?;
    Some(path.file_stem()?.to_string_lossy().into_owned())
}

fn host_name() -> Option<String> {
    let from_kernel = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .map(|name| name.trim().to_owned());
    from_kernel
        .or_else(|| std::env::var("HOSTNAME").ok())
        .or_else(|| std::env::var("COMPUTERNAME").ok())
        .filter(|name| !name.is_empty())
}
