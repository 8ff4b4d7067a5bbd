//! The resource of a function running on AWS Lambda, from the variables Lambda sets:
//! `cloud.provider`, `cloud.platform`, `cloud.region`, `faas.name`, `faas.version`,
//! `faas.instance`, `faas.max_memory` and the log group, plus `service.name` = the function's
//! name as the default (what the OpenTelemetry Lambda layers do).

use opentelemetry::{KeyValue, Value};

/// The Lambda resource attributes, or nothing when `AWS_LAMBDA_FUNCTION_NAME` is not set (not
/// on Lambda). `var` reads a variable; a value that does not parse is left out, never an error.
pub(crate) fn attributes(var: impl Fn(&'static str) -> Option<String>) -> Vec<KeyValue> {
    let Some(function) = var("AWS_LAMBDA_FUNCTION_NAME") else {
        return Vec::new();
    };
    let function = function.trim().to_owned();
    let mut attributes = vec![
        KeyValue::new("service.name", function.clone()),
        KeyValue::new("cloud.provider", "aws"),
        KeyValue::new("cloud.platform", "aws_lambda"),
        KeyValue::new("faas.name", function),
    ];
    let mut text = |key: &'static str, name: &'static str| {
        if let Some(value) = var(name) {
            attributes.push(KeyValue::new(key, value.trim().to_owned()));
        }
    };
    text("cloud.region", "AWS_REGION");
    text("faas.version", "AWS_LAMBDA_FUNCTION_VERSION");
    text("faas.instance", "AWS_LAMBDA_LOG_STREAM_NAME");
    if let Some(group) = var("AWS_LAMBDA_LOG_GROUP_NAME") {
        let groups = vec![opentelemetry::StringValue::from(group.trim().to_owned())];
        attributes.push(KeyValue::new(
            "aws.log.group.names",
            Value::Array(groups.into()),
        ));
    }
    // Megabytes in the variable, bytes in the semantic conventions.
    let memory = var("AWS_LAMBDA_FUNCTION_MEMORY_SIZE")
        .and_then(|mb| mb.trim().parse::<i64>().ok())
        .and_then(|mb| mb.checked_mul(1024 * 1024))
        .filter(|bytes| *bytes > 0);
    if let Some(bytes) = memory {
        attributes.push(KeyValue::new("faas.max_memory", bytes));
    }
    attributes
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lookup(vars: &'static [(&'static str, &'static str)]) -> impl Fn(&str) -> Option<String> {
        move |name| {
            vars.iter()
                .find(|(key, _)| *key == name)
                .map(|(_, value)| (*value).to_owned())
        }
    }

    fn value<'a>(attributes: &'a [KeyValue], key: &str) -> Option<&'a Value> {
        attributes
            .iter()
            .find(|kv| kv.key.as_str() == key)
            .map(|kv| &kv.value)
    }

    #[test]
    fn lambda_variables_become_the_resource() {
        let attributes = attributes(lookup(&[
            ("AWS_LAMBDA_FUNCTION_NAME", "orders"),
            ("AWS_REGION", "ap-northeast-1"),
            ("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST"),
            ("AWS_LAMBDA_LOG_STREAM_NAME", "2026/10/01/[$LATEST]abc"),
            ("AWS_LAMBDA_LOG_GROUP_NAME", "/aws/lambda/orders"),
            ("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128"),
        ]));
        assert_eq!(value(&attributes, "service.name"), Some(&"orders".into()));
        assert_eq!(value(&attributes, "faas.name"), Some(&"orders".into()));
        assert_eq!(value(&attributes, "cloud.provider"), Some(&"aws".into()));
        assert_eq!(
            value(&attributes, "cloud.region"),
            Some(&"ap-northeast-1".into())
        );
        assert_eq!(value(&attributes, "faas.version"), Some(&"$LATEST".into()));
        assert_eq!(
            value(&attributes, "faas.instance"),
            Some(&"2026/10/01/[$LATEST]abc".into())
        );
        assert_eq!(
            value(&attributes, "faas.max_memory"),
            Some(&Value::I64(134_217_728))
        );
        assert!(value(&attributes, "aws.log.group.names").is_some());
    }

    #[test]
    fn nothing_off_lambda_and_bad_numbers_are_left_out() {
        assert!(attributes(lookup(&[("AWS_REGION", "us-east-1")])).is_empty());
        let attributes = attributes(lookup(&[
            ("AWS_LAMBDA_FUNCTION_NAME", "f"),
            ("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "lots"),
        ]));
        assert_eq!(value(&attributes, "faas.max_memory"), None);
        assert_eq!(value(&attributes, "cloud.region"), None);
    }
}
