//! A batch job that starts tracing with `init()` and fails: the error is returned from `main`,
//! and the spans that explain it are still flushed on the way out.
//!
//! ```text
//! OTEL_TRACES_EXPORTER=console cargo run --example batch_job
//! ```
//!
//! It imports three records; the third is malformed, so the run ends with `Error: ...` and
//! exit code 1, after the trace (with the failed `import_record` marked ERROR) is printed.
//! A malformed variable makes `init()` itself fail, naming the variable, before any work is
//! done: try `OTEL_BSP_SCHEDULE_DELAY=soon cargo run --example batch_job`.

use std::error::Error;
use std::fmt;

use mackerel_trace::traced;

#[derive(Debug)]
struct BadRecord {
    line: usize,
}

impl fmt::Display for BadRecord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {} is not `name,quantity`", self.line)
    }
}

impl Error for BadRecord {}

#[traced(record(line))]
fn import_record(line: usize, text: &str) -> Result<u32, BadRecord> {
    let (_, quantity) = text.split_once(',').ok_or(BadRecord { line })?;
    quantity.trim().parse().map_err(|_| BadRecord { line })
}

#[traced(record(records = lines.len()))]
fn import(lines: &[&str]) -> Result<u32, BadRecord> {
    let mut total = 0;
    for (index, text) in lines.iter().enumerate() {
        total += import_record(index + 1, text)?;
    }
    Ok(total)
}

fn main() -> Result<(), Box<dyn Error>> {
    // The guard lives until `main` returns, `Ok` or `Err`: dropping it flushes the spans.
    let _guard = mackerel_trace::init()?;
    let total = import(&["tea,3", "cake,2", "scones"])?;
    println!("imported {total} items");
    Ok(())
}
