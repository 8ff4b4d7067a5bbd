//! One finished trace → the indented text tree the console exporter prints.
//!
//! Pure: spans in, `String` out, so the layout is tested without a writer.

use std::collections::{HashMap, HashSet};
use std::time::{Duration, SystemTime};

use opentelemetry::trace::{SpanId, SpanKind, Status, TraceId};
use opentelemetry::{Array, KeyValue, Value};
use opentelemetry_sdk::trace::SpanData;

use super::buffer::Tree;
use super::paint::{Line, Paint};

/// A log record as the console shows it (feature `logs`): under its span in the tree, or on a
/// line of its own.
#[derive(Clone, Debug)]
pub(crate) struct LogLine {
    /// When it was written.
    pub(crate) time: SystemTime,
    /// `INFO`, `WARN`, …
    pub(crate) severity: &'static str,
    /// The body's `message`.
    pub(crate) message: Option<String>,
    /// The body's other fields as `key=value`, by key.
    pub(crate) fields: Vec<String>,
    /// The span current where it was written.
    pub(crate) span: Option<(TraceId, SpanId)>,
}

impl LogLine {
    fn paint(&self) -> Paint {
        match self.severity {
            "ERROR" => Paint::Red,
            "WARN" => Paint::Yellow,
            _ => Paint::Bold,
        }
    }

    /// Whether `event` is this record as a span event (the `tracing` layer records an event
    /// as both, at the same instant): the tree shows it once, as the record.
    fn is_event(&self, event: &opentelemetry::trace::Event) -> bool {
        event.timestamp == self.time
            && self.message.as_deref() == Some(&*event.name)
            && event.attributes.iter().any(|kv| kv.key.as_str() == "level")
    }
}

/// A record no printed span holds: `INFO [trace span] message key=value`.
pub(crate) fn render_log_line(log: &LogLine, colour: bool, out: &mut String) {
    let mut line = Line::new(colour);
    line.push(log.severity, log.paint());
    if let Some((trace_id, span_id)) = log.span {
        line.push(&format!(" [{trace_id} {span_id}]"), Paint::Dim);
    }
    if let Some(message) = &log.message {
        line.push(" ", Paint::Plain);
        line.push(message, Paint::Plain);
    }
    for field in &log.fields {
        line.push(" ", Paint::Plain);
        line.push(field, Paint::Dim);
    }
    line.finish(out);
}

/// How a trace is drawn.
pub(crate) struct RenderOptions<'a> {
    /// ANSI colour: bold names, red errors, dim attributes.
    pub(crate) colour: bool,
    /// `service.name` of the resource, shown in the trace header.
    pub(crate) service_name: Option<&'a str>,
    /// Formats span durations and event offsets; tests swap it for a fixed string.
    pub(crate) duration: fn(Duration) -> String,
    /// Columns a line may take: attributes and event details wrap to stay within it.
    pub(crate) width: usize,
}

/// Renders `tree` (one trace, spans in any order) as a header line and one tree per top-level
/// span, each span followed by its events and log records in time order.
///
/// A span is top-level when its parent is not among the spans: the local root, or an orphan
/// whose parent never ended or was printed earlier. Children are ordered by start time.
pub(crate) fn render_trace(tree: &Tree, options: &RenderOptions<'_>) -> String {
    let spans = &tree.spans[..];
    let mut out = String::new();
    let Some(first) = spans.first() else {
        return out;
    };
    let mut header = Line::new(options.colour);
    header.push("trace ", Paint::Dim);
    header.push(&first.span_context.trace_id().to_string(), Paint::Dim);
    if let Some(service) = options.service_name {
        header.push(" · ", Paint::Dim);
        header.push(service, Paint::Bold);
    }
    header.finish(&mut out);

    let present: HashSet<SpanId> = spans.iter().map(|s| s.span_context.span_id()).collect();
    let mut children: HashMap<SpanId, Vec<usize>> = HashMap::new();
    let mut tops = Vec::new();
    for (index, span) in spans.iter().enumerate() {
        let parent = span.parent_span_id;
        if present.contains(&parent) && parent != span.span_context.span_id() {
            children.entry(parent).or_default().push(index);
        } else {
            tops.push(index);
        }
    }
    let by_start = |a: &usize, b: &usize| spans[*a].start_time.cmp(&spans[*b].start_time);
    tops.sort_by(by_start);
    for list in children.values_mut() {
        list.sort_by(by_start);
    }

    let mut drawn = vec![false; spans.len()];
    let draw_from = |top: usize, out: &mut String, drawn: &mut [bool]| {
        // Iterative depth-first walk: a deep trace must not overflow the stack.
        let mut stack = vec![Node {
            index: top,
            prefix: String::new(),
            connector: "",
            child_prefix: String::new(),
        }];
        while let Some(node) = stack.pop() {
            if std::mem::replace(&mut drawn[node.index], true) {
                continue;
            }
            let kids = children
                .get(&spans[node.index].span_context.span_id())
                .map(Vec::as_slice)
                .unwrap_or_default();
            let kids: Vec<usize> = kids.iter().copied().filter(|&k| !drawn[k]).collect();
            let detail_prefix = format!(
                "{}{}",
                node.child_prefix,
                if kids.is_empty() { "   " } else { "│  " }
            );
            let is_top = node.connector.is_empty();
            let span = &spans[node.index];
            let logs = tree
                .logs
                .get(&span.span_context.span_id())
                .map(Vec::as_slice)
                .unwrap_or_default();
            render_span(span, logs, is_top, &node, &detail_prefix, options, out);
            for (position, &kid) in kids.iter().enumerate().rev() {
                let last = position + 1 == kids.len();
                stack.push(Node {
                    index: kid,
                    prefix: node.child_prefix.clone(),
                    connector: if last { "└─ " } else { "├─ " },
                    child_prefix: format!(
                        "{}{}",
                        node.child_prefix,
                        if last { "   " } else { "│  " }
                    ),
                });
            }
        }
    };
    for top in tops {
        draw_from(top, &mut out, &mut drawn);
    }
    // Spans caught in a parent cycle (malformed input) are still shown rather than dropped.
    while let Some(index) = drawn.iter().position(|done| !done) {
        draw_from(index, &mut out, &mut drawn);
    }
    out
}

struct Node {
    index: usize,
    prefix: String,
    connector: &'static str,
    child_prefix: String,
}

fn render_span(
    span: &SpanData,
    logs: &[LogLine],
    is_top: bool,
    node: &Node,
    detail_prefix: &str,
    options: &RenderOptions<'_>,
    out: &mut String,
) {
    let colour = options.colour;
    let mut line = Line::new(colour);
    line.push(&node.prefix, Paint::Plain);
    line.push(node.connector, Paint::Plain);
    line.push(&span.name, Paint::Bold);
    line.push(" ", Paint::Plain);
    line.push(
        &(options.duration)(elapsed(span.start_time, span.end_time)),
        Paint::Plain,
    );
    if let Some(kind) = kind_label(&span.span_kind) {
        line.push(" ", Paint::Plain);
        line.push(kind, Paint::Plain);
    }
    match &span.status {
        Status::Unset => {}
        Status::Ok => {
            line.push(" ", Paint::Plain);
            line.push("OK", Paint::Green);
        }
        Status::Error { description } if description.is_empty() => {
            line.push(" ", Paint::Plain);
            line.push("ERROR", Paint::Red);
        }
        Status::Error { description } => {
            line.push(" ", Paint::Plain);
            line.push(&format!("ERROR: {description}"), Paint::Red);
        }
    }
    let (location, attributes) = split_code_location(&span.attributes, &span.name);
    if let Some(location) = location {
        line.push(" ", Paint::Plain);
        line.push(&location, Paint::Dim);
    }
    if is_top && span.parent_span_id != SpanId::INVALID && !span.parent_span_is_remote {
        line.push(&format!(" (parent {})", span.parent_span_id), Paint::Dim);
    }

    let mut pieces: Vec<String> = attributes.iter().map(|kv| format_attribute(kv)).collect();
    if span.dropped_attributes_count > 0 {
        pieces.push(format!("(+{} dropped)", span.dropped_attributes_count));
    }
    finish_with(line, &pieces, detail_prefix, options.width, out);

    let mut pending = logs.iter().peekable();
    for event in span.events.iter() {
        while let Some(log) = pending.next_if(|log| log.time <= event.timestamp) {
            render_log(log, span.start_time, detail_prefix, options, out);
        }
        if logs.iter().any(|log| log.is_event(event)) {
            continue;
        }
        let mut line = Line::new(colour);
        line.push(detail_prefix, Paint::Plain);
        line.push("• ", Paint::Plain);
        let paint = if event.name == "exception" {
            Paint::Red
        } else {
            Paint::Bold
        };
        line.push(&event.name, paint);
        let offset = (options.duration)(elapsed(span.start_time, event.timestamp));
        line.push(&format!(" +{offset}"), Paint::Dim);
        let message = event
            .attributes
            .iter()
            .find(|kv| kv.key.as_str() == "exception.message")
            .map(|kv| kv.value.as_str());
        let mut multiline = Vec::new();
        let mut pieces = Vec::new();
        for kv in &event.attributes {
            match &kv.value {
                // A stacktrace that only repeats the message (an error without a source) says
                // nothing new.
                Value::String(s)
                    if kv.key.as_str() == "exception.stacktrace"
                        && message.as_deref() == Some(s.as_str()) => {}
                Value::String(s)
                    if kv.key.as_str() == "exception.stacktrace" && s.as_str().contains('\n') =>
                {
                    multiline.push((kv.key.as_str(), s.as_str()));
                }
                _ => pieces.push(format_attribute(kv)),
            }
        }
        if event.dropped_attributes_count > 0 {
            pieces.push(format!("(+{} dropped)", event.dropped_attributes_count));
        }
        let indent = format!("{detail_prefix}    ");
        finish_with(line, &pieces, &indent, options.width, out);
        for (key, text) in multiline {
            let mut line = Line::new(colour);
            line.push(detail_prefix, Paint::Plain);
            line.push(&format!("  {key}:"), Paint::Dim);
            line.finish(out);
            for text_line in text.trim_end().lines() {
                let mut line = Line::new(colour);
                line.push(&indent, Paint::Plain);
                push_wrapped(
                    line,
                    &[text_line.to_owned()],
                    &indent,
                    options.width,
                    colour,
                    out,
                );
            }
        }
    }
    for log in pending {
        render_log(log, span.start_time, detail_prefix, options, out);
    }
    if span.events.dropped_count > 0 {
        let mut line = Line::new(colour);
        line.push(detail_prefix, Paint::Plain);
        line.push(
            &format!("• (+{} events dropped)", span.events.dropped_count),
            Paint::Dim,
        );
        line.finish(out);
    }
}

/// A log record under its span: `» INFO message +offset key=value`.
fn render_log(
    log: &LogLine,
    span_start: SystemTime,
    detail_prefix: &str,
    options: &RenderOptions<'_>,
    out: &mut String,
) {
    let mut line = Line::new(options.colour);
    line.push(detail_prefix, Paint::Plain);
    line.push("» ", Paint::Plain);
    line.push(log.severity, log.paint());
    if let Some(message) = &log.message {
        line.push(" ", Paint::Plain);
        line.push(message, Paint::Plain);
    }
    let offset = (options.duration)(elapsed(span_start, log.time));
    line.push(&format!(" +{offset}"), Paint::Dim);
    let indent = format!("{detail_prefix}    ");
    finish_with(line, &log.fields, &indent, options.width, out);
}

/// Finishes `line` with `pieces` on it when they all fit in `width`; otherwise they go on
/// lines of their own at `indent`, wrapped.
fn finish_with(mut line: Line, pieces: &[String], indent: &str, width: usize, out: &mut String) {
    let fits = line.width + pieces.iter().map(|p| p.chars().count() + 1).sum::<usize>() <= width;
    if fits || pieces.is_empty() {
        for piece in pieces {
            line.push(" ", Paint::Plain);
            line.push(piece, Paint::Dim);
        }
        line.finish(out);
    } else {
        let colour = line.colour();
        line.finish(out);
        let mut line = Line::new(colour);
        line.push(indent, Paint::Plain);
        push_wrapped(line, pieces, indent, width, colour, out);
    }
}

/// Finishes `line` with `pieces`, separated by spaces: a piece that does not fit on the line
/// starts a new one at `indent`, and a piece longer than a whole line is broken at spaces (or
/// anywhere, for a word longer than the line).
fn push_wrapped(
    mut line: Line,
    pieces: &[String],
    indent: &str,
    width: usize,
    colour: bool,
    out: &mut String,
) {
    let start = indent.chars().count();
    // At least 20 columns of text, however deep the tree.
    let room = width.saturating_sub(start).max(20);
    for piece in pieces {
        for chunk in chunks(piece, room) {
            let chunk_width = chunk.chars().count();
            if line.width > start && line.width + 1 + chunk_width > start + room {
                line.finish(out);
                line = Line::new(colour);
                line.push(indent, Paint::Plain);
            }
            if line.width > start {
                line.push(" ", Paint::Plain);
            }
            line.push(chunk, Paint::Dim);
        }
    }
    line.finish(out);
}

/// `text` cut into pieces of at most `room` columns, at spaces where it can be.
fn chunks(text: &str, room: usize) -> Vec<&str> {
    let mut pieces = Vec::new();
    let mut rest = text;
    while rest.chars().count() > room {
        let limit = rest.char_indices().nth(room).map_or(rest.len(), |(i, _)| i);
        let cut = rest[..limit]
            .rfind(' ')
            .filter(|&at| at > 0)
            .unwrap_or(limit);
        pieces.push(rest[..cut].trim_end());
        rest = rest[cut..].trim_start();
    }
    if !rest.is_empty() || pieces.is_empty() {
        pieces.push(rest);
    }
    pieces
}

/// Human duration: `512ns`, `812µs`, `12.3ms`, `1.204s`.
pub(crate) fn format_duration(duration: Duration) -> String {
    let nanos = duration.as_nanos();
    if nanos < 1_000 {
        format!("{nanos}ns")
    } else if nanos < 1_000_000 {
        format!("{}µs", nanos / 1_000)
    } else if nanos < 1_000_000_000 {
        format!("{:.1}ms", nanos as f64 / 1e6)
    } else {
        format!("{:.3}s", nanos as f64 / 1e9)
    }
}

fn elapsed(start: SystemTime, end: SystemTime) -> Duration {
    end.duration_since(start).unwrap_or_default()
}

fn kind_label(kind: &SpanKind) -> Option<&'static str> {
    match kind {
        SpanKind::Internal => None,
        SpanKind::Server => Some("server"),
        SpanKind::Client => Some("client"),
        SpanKind::Producer => Some("producer"),
        SpanKind::Consumer => Some("consumer"),
    }
}

/// Folds the `code.*` attributes into one `at file:line` (or `in function at file:line`
/// when the function is not the span's own name) and returns the other attributes.
fn split_code_location<'a>(
    attributes: &'a [KeyValue],
    span_name: &str,
) -> (Option<String>, Vec<&'a KeyValue>) {
    let (mut file, mut line, mut column, mut function, mut namespace) =
        (None, None, None, None, None);
    let mut rest = Vec::new();
    for kv in attributes {
        let slot = match kv.key.as_str() {
            "code.file.path" | "code.filepath" => &mut file,
            "code.line.number" | "code.lineno" => &mut line,
            "code.column.number" | "code.column" => &mut column,
            "code.function.name" | "code.function" => &mut function,
            "code.namespace" => &mut namespace,
            _ => {
                rest.push(kv);
                continue;
            }
        };
        *slot = Some(kv.value.as_str().into_owned());
    }
    let function = match (function, namespace) {
        (Some(f), Some(ns)) if !f.contains("::") => Some(format!("{ns}::{f}")),
        (f, _) => f,
    };
    let function = function.filter(|f| f != span_name && !f.ends_with(&format!("::{span_name}")));
    let place = file.map(|file| {
        let mut place = file;
        for number in [line, column].into_iter().flatten() {
            place.push(':');
            place.push_str(&number);
        }
        place
    });
    let location = match (function, place) {
        (None, None) => None,
        (None, Some(place)) => Some(format!("at {place}")),
        (Some(function), None) => Some(format!("in {function}")),
        (Some(function), Some(place)) => Some(format!("in {function} at {place}")),
    };
    (location, rest)
}

fn format_attribute(kv: &KeyValue) -> String {
    format!("{}={}", kv.key, format_value(&kv.value))
}

fn format_value(value: &Value) -> String {
    match value {
        Value::String(s) => format!("{:?}", s.as_str()),
        Value::Array(Array::Bool(items)) => list(items.iter().map(ToString::to_string)),
        Value::Array(Array::I64(items)) => list(items.iter().map(ToString::to_string)),
        Value::Array(Array::F64(items)) => list(items.iter().map(ToString::to_string)),
        Value::Array(Array::String(items)) => {
            list(items.iter().map(|s| format!("{:?}", s.as_str())))
        }
        other => other.to_string(),
    }
}

fn list(items: impl Iterator<Item = String>) -> String {
    format!("[{}]", items.collect::<Vec<_>>().join(", "))
}
