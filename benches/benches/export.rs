//! End-to-end export through the real pipeline into a local OTLP/HTTP receiver on 127.0.0.1:
//! sustained spans/s (ours and the stock `opentelemetry-otlp` exporter, gzip and none), loss
//! when paced at 20k and 100k spans/s, and peak RSS during a 1,000,000-span burst.
//!
//! `cargo bench -p mackerel-trace-benches --bench export` prints markdown tables on stdout
//! (progress on stderr). For profiling: `EXPORT_BENCH_QUICK=1` runs smaller sizes,
//! `EXPORT_BENCH_ONLY=sustained|paced|burst` one section, `EXPORT_BENCH_CONFIG=ours-gzip`
//! (`ours-none`, `stock512-gzip`, `stock4096-gzip`, `stock512-none`) one sustained configuration.
//!
//! The receiver is a light one written here: it reads each request, answers 200 at once, then
//! gunzips and decodes the body with `prost` into `ExportTraceServiceRequest` and counts the
//! spans; "received" is what it decoded. It keeps nothing, so it can run in the measured
//! process; for the RSS burst it runs in a child process all the same (this binary
//! re-executed with `--receiver`), and so does the burst itself (`--burst`), so its
//! baseline and peak are those of a fresh process.

use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use mackerel_trace::opentelemetry::global::{self, BoxedTracer};
use mackerel_trace::opentelemetry::trace::{Span as _, Tracer as _};
use mackerel_trace::opentelemetry::KeyValue;
use mackerel_trace::{Compression, Config, ExportStats, Guard};
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_sdk::trace::{BatchConfigBuilder, BatchSpanProcessor, SdkTracerProvider};
use prost::Message as _;

const NAME: &str = "work-item";
/// The SDK's default `max_export_batch_size`.
const STOCK_DEFAULT_BATCH: usize = 512;
/// Ours.
const OUR_DEFAULT_BATCH: usize = 4_096;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("--receiver") => receiver_child(),
        Some("--burst") => burst_child(&args[1], args[2].parse().expect("span count")),
        _ => run_all(),
    }
}

struct Sizes {
    sustained_spans: u64,
    runs: usize,
    paced_secs: f64,
    burst_spans: u64,
}

fn run_all() {
    let quick = std::env::var_os("EXPORT_BENCH_QUICK").is_some();
    let sizes = if quick {
        Sizes {
            sustained_spans: 100_000,
            runs: 1,
            paced_secs: 0.5,
            burst_spans: 200_000,
        }
    } else {
        Sizes {
            sustained_spans: 300_000,
            runs: 3,
            paced_secs: 2.0,
            burst_spans: 1_000_000,
        }
    };
    let only = std::env::var("EXPORT_BENCH_ONLY").unwrap_or_default();
    let started = Instant::now();
    println!("# mackerel-trace end-to-end export\n");
    println!(
        "{} cores; receiver on 127.0.0.1 (answers, then gunzips and decodes with prost, counts); \
         spans: `global::tracer(..)`, `start(\"work\")`, two attributes (`id`, `name`), `end()`.\n",
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );
    if only.is_empty() || only.contains("sustained") {
        sustained(&sizes);
    }
    if only.is_empty() || only.contains("paced") {
        paced(&sizes);
    }
    if only.is_empty() || only.contains("burst") {
        burst(&sizes);
    }
    eprintln!(
        "export bench: done in {:.1} s",
        started.elapsed().as_secs_f64()
    );
}

// ---------------------------------------------------------------------------------------------
// Spans

/// One span as the overhead bench makes it by hand: start, two attributes, end.
#[inline(never)]
fn record_span(tracer: &BoxedTracer, id: u64) {
    let mut span = tracer.start("work");
    span.set_attribute(KeyValue::new("id", id as i64));
    span.set_attribute(KeyValue::new("name", NAME.to_owned()));
    span.end();
}

fn tracer() -> BoxedTracer {
    global::tracer("export-bench")
}

// ---------------------------------------------------------------------------------------------
// Pipelines

fn ours(endpoint: &str, compression: Compression, queue: Option<usize>) -> Guard {
    let mut config = Config::new()
        .with_env_vars([("OTEL_SERVICE_NAME", "export-bench")])
        .endpoint(endpoint)
        .compression(compression);
    if let Some(queue) = queue {
        // Large queues take long to drain: let shutdown wait for all of it.
        config = config
            .max_queue_size(queue)
            .shutdown_timeout(Duration::from_secs(120));
    }
    config.init().expect("start mackerel-trace")
}

fn stock(endpoint: &str, gzip: bool, queue: usize, batch: usize) -> SdkTracerProvider {
    use opentelemetry_otlp::{WithExportConfig as _, WithHttpConfig as _};
    let mut builder = opentelemetry_otlp::SpanExporter::builder()
        .with_http()
        .with_endpoint(endpoint)
        .with_protocol(opentelemetry_otlp::Protocol::HttpBinary)
        .with_timeout(Duration::from_secs(10));
    if gzip {
        builder = builder.with_compression(opentelemetry_otlp::Compression::Gzip);
    }
    let exporter = builder.build().expect("build the stock OTLP exporter");
    let processor = BatchSpanProcessor::builder(exporter)
        .with_batch_config(
            BatchConfigBuilder::default()
                .with_max_queue_size(queue)
                .with_max_export_batch_size(batch)
                .build(),
        )
        .build();
    let provider = SdkTracerProvider::builder()
        .with_span_processor(processor)
        .with_resource(
            opentelemetry_sdk::Resource::builder()
                .with_service_name("export-bench")
                .build(),
        )
        .build();
    global::set_tracer_provider(provider.clone());
    provider
}

// ---------------------------------------------------------------------------------------------
// 1. Sustained spans/s

#[derive(Clone, Copy, PartialEq)]
enum Exporter {
    Ours,
    Stock { batch: usize },
}

struct Sustained {
    exporter: Exporter,
    gzip: bool,
    created: u64,
    received: u64,
    secs: f64,
    body_bytes: u64,
    decode_secs: f64,
    dropped: u64,
    /// CPU time of the whole process (producer, export threads, receiver) over the run.
    cpu_secs: f64,
}

fn sustained_once(exporter: Exporter, gzip: bool, spans: u64) -> Sustained {
    let receiver = CountingReceiver::start();
    let endpoint = receiver.endpoint();
    let queue = spans as usize;
    let compression = if gzip {
        Compression::Gzip
    } else {
        Compression::None
    };
    let mut dropped = 0;
    let cpu_before = process_cpu_secs();
    let secs = match exporter {
        Exporter::Ours => {
            let guard = ours(&endpoint, compression, Some(queue));
            let tracer = tracer();
            let start = Instant::now();
            for id in 0..spans {
                record_span(&tracer, id);
            }
            let stats = guard.shutdown();
            let secs = start.elapsed().as_secs_f64();
            dropped = stats.dropped();
            secs
        }
        Exporter::Stock { batch } => {
            let provider = stock(&endpoint, gzip, queue, batch);
            let tracer = tracer();
            let start = Instant::now();
            for id in 0..spans {
                record_span(&tracer, id);
            }
            provider
                .shutdown_with_timeout(Duration::from_secs(120))
                .expect("stock shutdown");
            start.elapsed().as_secs_f64()
        }
    };
    let counts = receiver.finish();
    let cpu_secs = process_cpu_secs() - cpu_before;
    Sustained {
        exporter,
        gzip,
        created: spans,
        received: counts.spans,
        secs,
        body_bytes: counts.body_bytes,
        decode_secs: counts.decode_nanos as f64 / 1e9,
        dropped,
        cpu_secs,
    }
}

/// User + system CPU time of this process so far (`/proc/self/stat`, in clock ticks of 10 ms).
fn process_cpu_secs() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").expect("/proc/self/stat");
    let after_name = &stat[stat.rfind(')').expect("stat") + 2..];
    let fields: Vec<&str> = after_name.split_whitespace().collect();
    // Fields 14 and 15 of stat(5), counted from 1 with the pid and name as 1 and 2.
    let ticks: u64 =
        fields[11].parse::<u64>().unwrap_or(0) + fields[12].parse::<u64>().unwrap_or(0);
    ticks as f64 / 100.0
}

fn sustained(sizes: &Sizes) {
    let spans = sizes.sustained_spans;
    let configs = [
        (Exporter::Ours, true),
        (
            Exporter::Stock {
                batch: STOCK_DEFAULT_BATCH,
            },
            true,
        ),
        (
            Exporter::Stock {
                batch: OUR_DEFAULT_BATCH,
            },
            true,
        ),
        (Exporter::Ours, false),
        (
            Exporter::Stock {
                batch: STOCK_DEFAULT_BATCH,
            },
            false,
        ),
    ];
    // For profiling one configuration: EXPORT_BENCH_CONFIG=ours-gzip (or stock512-none, ...).
    let filter = std::env::var("EXPORT_BENCH_CONFIG").unwrap_or_default();
    // Interleaved, so drift on a shared machine hits every configuration alike.
    let mut results: Vec<Vec<Sustained>> = configs.iter().map(|_| Vec::new()).collect();
    for run in 0..sizes.runs {
        for (i, &(exporter, gzip)) in configs.iter().enumerate() {
            if !filter.is_empty() && config_label(exporter, gzip) != filter {
                continue;
            }
            let result = sustained_once(exporter, gzip, spans);
            eprintln!(
                "sustained run {run}: {} {}: {:.0} spans/s, received {}/{}",
                exporter_name(exporter),
                if gzip { "gzip" } else { "none" },
                result.created as f64 / result.secs,
                result.received,
                result.created
            );
            results[i].push(result);
        }
    }
    println!(
        "## Sustained spans/s\n\n{spans} spans created flat out on one thread, queue {spans} (nothing may drop), \
         timed from the first span created to shutdown complete; median of {} runs.\n",
        sizes.runs
    );
    println!("| exporter | batch | compression | spans/s (median) | runs (spans/s) | created | received (decoded) | dropped | wire bytes/span | receiver decode busy | process CPU µs/span |");
    println!("|---|---|---|---:|---|---:|---:|---:|---:|---:|---:|");
    let mut medians = Vec::new();
    for runs in &results {
        if runs.is_empty() {
            medians.push(f64::NAN);
            continue;
        }
        let mut rates: Vec<f64> = runs.iter().map(|r| r.created as f64 / r.secs).collect();
        rates.sort_by(f64::total_cmp);
        let median = rates[rates.len() / 2];
        medians.push(median);
        let first = &runs[0];
        let created: u64 = runs.iter().map(|r| r.created).sum();
        let received: u64 = runs.iter().map(|r| r.received).sum();
        let dropped: u64 = runs.iter().map(|r| r.dropped).sum();
        let bytes: u64 = runs.iter().map(|r| r.body_bytes).sum();
        let busy: f64 =
            runs.iter().map(|r| r.decode_secs / r.secs).sum::<f64>() / runs.len() as f64;
        let cpu: f64 = runs.iter().map(|r| r.cpu_secs).sum();
        println!(
            "| {} | {} | {} | **{:.0}** | {} | {} | {} | {} | {:.1} | {:.0}% | {:.2} |",
            exporter_name(first.exporter),
            match first.exporter {
                Exporter::Ours => OUR_DEFAULT_BATCH,
                Exporter::Stock { batch } => batch,
            },
            if first.gzip { "gzip" } else { "none" },
            median,
            runs.iter()
                .map(|r| format!("{:.0}k", r.created as f64 / r.secs / 1e3))
                .collect::<Vec<_>>()
                .join(", "),
            created,
            received,
            dropped,
            bytes as f64 / received.max(1) as f64,
            busy * 100.0,
            cpu * 1e6 / created as f64
        );
    }
    println!();
    println!(
        "- ours / stock (default batch 512), gzip: **{:.2}×** (target ≥ 2×); ours / stock with batch 4096, gzip: {:.2}×",
        medians[0] / medians[1],
        medians[0] / medians[2]
    );
    println!(
        "- ours / stock, none: {:.2}×; ours gzip / ours none: {:.2}",
        medians[3] / medians[4],
        medians[0] / medians[3]
    );
    println!(
        "- process CPU µs/span = user + system CPU of the whole process (span creation, export threads, receiver) / spans: \
         less noisy than spans/s on a shared machine"
    );
    println!(
        "- receiver decode busy = time the receiver spent gunzipping and decoding / wall time (it answers before decoding, so it is not in the exporter's request latency)\n"
    );
}

fn config_label(exporter: Exporter, gzip: bool) -> String {
    let exporter = match exporter {
        Exporter::Ours => "ours".to_owned(),
        Exporter::Stock { batch } => format!("stock{batch}"),
    };
    format!("{exporter}-{}", if gzip { "gzip" } else { "none" })
}

fn exporter_name(exporter: Exporter) -> &'static str {
    match exporter {
        Exporter::Ours => "mackerel-trace",
        Exporter::Stock { .. } => "stock opentelemetry-otlp 0.33 + SDK BatchSpanProcessor",
    }
}

// ---------------------------------------------------------------------------------------------
// 2. Loss when paced

fn paced(sizes: &Sizes) {
    println!(
        "## Loss when paced\n\nDefault batch settings (queue 16384, batch 4096, schedule delay 5 s), gzip; spans created at a fixed rate for {:.1} s on one thread.\n",
        sizes.paced_secs
    );
    println!("| target rate | achieved rate | created | received (decoded) | exported | dropped: queue full | dropped: export failed | dropped: at shutdown | shutdown (flush) |");
    println!("|---:|---:|---:|---:|---:|---:|---:|---:|");
    for rate in [20_000u64, 100_000] {
        let receiver = CountingReceiver::start();
        let guard = ours(&receiver.endpoint(), Compression::Gzip, None);
        let tracer = tracer();
        let total = (rate as f64 * sizes.paced_secs) as u64;
        let start = Instant::now();
        let mut created = 0;
        while created < total {
            let due = ((start.elapsed().as_secs_f64() * rate as f64) as u64).min(total);
            while created < due {
                record_span(&tracer, created);
                created += 1;
            }
            std::thread::sleep(Duration::from_micros(200));
        }
        let produced = start.elapsed().as_secs_f64();
        let flush_start = Instant::now();
        let stats = guard.shutdown();
        let flush = flush_start.elapsed();
        let counts = receiver.finish();
        eprintln!(
            "paced {rate}/s: created {created}, received {}, {stats:?}",
            counts.spans
        );
        println!(
            "| {}k/s | {:.1}k/s | {created} | {} | {} | {} | {} | {} | {:.0} ms |",
            rate / 1000,
            created as f64 / produced / 1e3,
            counts.spans,
            stats.exported,
            stats.dropped_queue_full,
            stats.dropped_export_failed,
            stats.dropped_at_shutdown,
            flush.as_secs_f64() * 1e3
        );
    }
    println!();
}

// ---------------------------------------------------------------------------------------------
// 3. The burst, in a child process, with the receiver in another

fn burst(sizes: &Sizes) {
    let exe = std::env::current_exe().expect("current_exe");
    let mut receiver = Command::new(&exe)
        .arg("--receiver")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("start the receiver process");
    let mut receiver_out = BufReader::new(receiver.stdout.take().expect("receiver stdout"));
    let mut endpoint = String::new();
    receiver_out
        .read_line(&mut endpoint)
        .expect("receiver endpoint");
    let output = Command::new(&exe)
        .args(["--burst", endpoint.trim(), &sizes.burst_spans.to_string()])
        .stderr(Stdio::inherit())
        .output()
        .expect("run the burst process");
    drop(receiver.stdin.take()); // EOF: the receiver prints its counts and exits.
    let mut received = String::new();
    receiver_out
        .read_to_string(&mut received)
        .expect("receiver counts");
    let _ = receiver.wait();
    let burst = parse_fields(&String::from_utf8_lossy(&output.stdout));
    let received = parse_fields(&received);
    let field = |map: &[(String, u64)], key: &str| {
        map.iter()
            .find(|(k, _)| k == key)
            .map(|&(_, v)| v)
            .unwrap_or_else(|| panic!("no {key} in child output"))
    };
    let created = field(&burst, "created");
    let exported = field(&burst, "exported");
    let queue_full = field(&burst, "dropped_queue_full");
    let failed = field(&burst, "dropped_export_failed");
    let at_shutdown = field(&burst, "dropped_at_shutdown");
    let received_spans = field(&received, "spans");
    let baseline = field(&burst, "baseline_rss_kib");
    let hwm = field(&burst, "hwm_kib");
    let accounted = exported + queue_full + failed + at_shutdown == created;
    println!(
        "## {}-span burst\n\nA fresh process (this bench re-executed), default settings (queue 16384, batch 4096, delay 5 s, gzip), spans created flat out; \
         the receiver runs in another process. Peak RSS = `VmHWM` after shutdown − `VmRSS` before `init`.\n",
        sizes.burst_spans
    );
    println!("| created | exported | received (decoded) | dropped: queue full | dropped: export failed | dropped: at shutdown | exported + dropped = created | create time | shutdown | baseline RSS | peak RSS (VmHWM) | **peak over baseline** |");
    println!("|---:|---:|---:|---:|---:|---:|---|---:|---:|---:|---:|---:|");
    println!(
        "| {created} | {exported} | {received_spans} | {queue_full} | {failed} | {at_shutdown} | {} | {} ms | {} ms | {:.1} MiB | {:.1} MiB | **{:.1} MiB** |",
        if accounted { "yes" } else { "**NO**" },
        field(&burst, "create_ms"),
        field(&burst, "shutdown_ms"),
        baseline as f64 / 1024.0,
        hwm as f64 / 1024.0,
        hwm.saturating_sub(baseline) as f64 / 1024.0
    );
    println!(
        "\n- RSS after init: {:.1} MiB; after the spans were created: {:.1} MiB; after shutdown: {:.1} MiB; received == exported: {}\n",
        field(&burst, "after_init_rss_kib") as f64 / 1024.0,
        field(&burst, "after_create_rss_kib") as f64 / 1024.0,
        field(&burst, "after_shutdown_rss_kib") as f64 / 1024.0,
        if received_spans == exported { "yes" } else { "**NO**" }
    );
}

fn burst_child(endpoint: &str, spans: u64) {
    let baseline = proc_status_kib("VmRSS");
    let guard = ours(endpoint, Compression::Gzip, None);
    let tracer = tracer();
    let after_init = proc_status_kib("VmRSS");
    let start = Instant::now();
    for id in 0..spans {
        record_span(&tracer, id);
    }
    let create = start.elapsed();
    let after_create = proc_status_kib("VmRSS");
    let shutdown_start = Instant::now();
    let stats: ExportStats = guard.shutdown();
    let shutdown = shutdown_start.elapsed();
    println!(
        "created={spans} exported={} dropped_queue_full={} dropped_export_failed={} dropped_at_shutdown={} \
         baseline_rss_kib={baseline} after_init_rss_kib={after_init} after_create_rss_kib={after_create} \
         after_shutdown_rss_kib={} hwm_kib={} create_ms={} shutdown_ms={}",
        stats.exported,
        stats.dropped_queue_full,
        stats.dropped_export_failed,
        stats.dropped_at_shutdown,
        proc_status_kib("VmRSS"),
        proc_status_kib("VmHWM"),
        create.as_millis(),
        shutdown.as_millis()
    );
}

fn proc_status_kib(field: &str) -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").expect("/proc/self/status");
    status
        .lines()
        .find_map(|line| line.strip_prefix(field)?.strip_prefix(':'))
        .and_then(|rest| rest.split_whitespace().next()?.parse().ok())
        .unwrap_or(0)
}

fn parse_fields(text: &str) -> Vec<(String, u64)> {
    text.split_whitespace()
        .filter_map(|pair| {
            let (key, value) = pair.split_once('=')?;
            Some((key.to_owned(), value.parse().ok()?))
        })
        .collect()
}

fn receiver_child() {
    let receiver = CountingReceiver::start();
    println!("{}", receiver.endpoint());
    io::stdout().flush().expect("flush");
    let mut sink = Vec::new();
    let _ = io::stdin().read_to_end(&mut sink);
    let counts = receiver.finish();
    println!(
        "spans={} requests={} body_bytes={} decode_errors={}",
        counts.spans, counts.requests, counts.body_bytes, counts.decode_errors
    );
}

// ---------------------------------------------------------------------------------------------
// The counting receiver

#[derive(Default)]
struct Counts {
    spans: AtomicU64,
    requests: AtomicU64,
    body_bytes: AtomicU64,
    decode_errors: AtomicU64,
    decode_nanos: AtomicU64,
    /// Answered, not yet decoded.
    pending: AtomicU64,
}

#[derive(Debug)]
struct Totals {
    spans: u64,
    requests: u64,
    body_bytes: u64,
    decode_errors: u64,
    decode_nanos: u64,
}

struct CountingReceiver {
    addr: SocketAddr,
    counts: Arc<Counts>,
    stop: Arc<AtomicBool>,
    open: Arc<Mutex<Vec<TcpStream>>>,
    threads: Arc<Mutex<Vec<JoinHandle<()>>>>,
    acceptor: Option<JoinHandle<()>>,
}

impl CountingReceiver {
    fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1");
        let addr = listener.local_addr().expect("local addr");
        let counts = Arc::new(Counts::default());
        let stop = Arc::new(AtomicBool::new(false));
        let open = Arc::new(Mutex::new(Vec::new()));
        let threads = Arc::new(Mutex::new(Vec::new()));
        let acceptor = std::thread::spawn({
            let (counts, stop, open, threads) = (
                Arc::clone(&counts),
                Arc::clone(&stop),
                Arc::clone(&open),
                Arc::clone(&threads),
            );
            move || {
                for stream in listener.incoming() {
                    if stop.load(Ordering::Acquire) {
                        return;
                    }
                    let Ok(stream) = stream else { continue };
                    let _ = stream.set_nodelay(true);
                    if let Ok(handle) = stream.try_clone() {
                        open.lock().unwrap().push(handle);
                    }
                    let counts = Arc::clone(&counts);
                    threads.lock().unwrap().push(std::thread::spawn(move || {
                        let _ = serve(stream, &counts);
                    }));
                }
            }
        });
        CountingReceiver {
            addr,
            counts,
            stop,
            open,
            threads,
            acceptor: Some(acceptor),
        }
    }

    fn endpoint(&self) -> String {
        format!("http://{}/v1/traces", self.addr)
    }

    /// Waits for the bodies already answered to be decoded, stops, and returns the counts.
    fn finish(mut self) -> Totals {
        let deadline = Instant::now() + Duration::from_secs(30);
        while self.counts.pending.load(Ordering::Acquire) > 0 && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(1));
        }
        self.stop.store(true, Ordering::Release);
        for stream in self.open.lock().unwrap().drain(..) {
            let _ = stream.shutdown(Shutdown::Both);
        }
        let _ = TcpStream::connect(self.addr);
        if let Some(acceptor) = self.acceptor.take() {
            let _ = acceptor.join();
        }
        for thread in self.threads.lock().unwrap().drain(..) {
            let _ = thread.join();
        }
        let c = &self.counts;
        Totals {
            spans: c.spans.load(Ordering::Acquire),
            requests: c.requests.load(Ordering::Acquire),
            body_bytes: c.body_bytes.load(Ordering::Acquire),
            decode_errors: c.decode_errors.load(Ordering::Acquire),
            decode_nanos: c.decode_nanos.load(Ordering::Acquire),
        }
    }
}

/// Serves one keep-alive connection: `Content-Length` or chunked bodies, gzip or not.
fn serve(stream: TcpStream, counts: &Counts) -> io::Result<()> {
    let mut reader = BufReader::with_capacity(256 * 1024, stream.try_clone()?);
    let mut writer = stream;
    let mut line = String::new();
    let mut body = Vec::new();
    let mut plain = Vec::new();
    loop {
        line.clear();
        if reader.read_line(&mut line)? == 0 {
            return Ok(());
        }
        if line.trim().is_empty() {
            continue;
        }
        let (mut length, mut chunked, mut gzip, mut close, mut expect) =
            (None, false, false, false, false);
        loop {
            line.clear();
            if reader.read_line(&mut line)? == 0 {
                return Ok(());
            }
            let header = line.trim_end();
            if header.is_empty() {
                break;
            }
            let Some((name, value)) = header.split_once(':') else {
                continue;
            };
            let value = value.trim();
            match name.trim().to_ascii_lowercase().as_str() {
                "content-length" => length = value.parse::<usize>().ok(),
                "transfer-encoding" => chunked = value.to_ascii_lowercase().contains("chunked"),
                "content-encoding" => gzip = value.eq_ignore_ascii_case("gzip"),
                "connection" => close = value.eq_ignore_ascii_case("close"),
                "expect" => expect = value.eq_ignore_ascii_case("100-continue"),
                _ => {}
            }
        }
        if expect {
            writer.write_all(b"HTTP/1.1 100 Continue\r\n\r\n")?;
        }
        body.clear();
        if chunked {
            read_chunked(&mut reader, &mut body, &mut line)?;
        } else if let Some(length) = length {
            body.resize(length, 0);
            reader.read_exact(&mut body)?;
        }
        counts.pending.fetch_add(1, Ordering::AcqRel);
        writer.write_all(
            b"HTTP/1.1 200 OK\r\nContent-Type: application/x-protobuf\r\nContent-Length: 0\r\n\r\n",
        )?;
        let start = Instant::now();
        match decode(&body, gzip, &mut plain) {
            Ok(spans) => {
                counts.spans.fetch_add(spans, Ordering::AcqRel);
            }
            Err(err) => {
                eprintln!("receiver: could not decode a request: {err}");
                counts.decode_errors.fetch_add(1, Ordering::AcqRel);
            }
        }
        counts
            .decode_nanos
            .fetch_add(start.elapsed().as_nanos() as u64, Ordering::AcqRel);
        counts.requests.fetch_add(1, Ordering::AcqRel);
        counts
            .body_bytes
            .fetch_add(body.len() as u64, Ordering::AcqRel);
        counts.pending.fetch_sub(1, Ordering::AcqRel);
        if close {
            return Ok(());
        }
    }
}

fn read_chunked(
    reader: &mut impl BufRead,
    body: &mut Vec<u8>,
    line: &mut String,
) -> io::Result<()> {
    loop {
        line.clear();
        reader.read_line(line)?;
        let size = line.trim().split(';').next().unwrap_or_default();
        let size = usize::from_str_radix(size, 16)
            .map_err(|_| io::Error::new(io::ErrorKind::InvalidData, "bad chunk size"))?;
        if size == 0 {
            // Trailers up to the empty line.
            loop {
                line.clear();
                if reader.read_line(line)? == 0 || line.trim().is_empty() {
                    return Ok(());
                }
            }
        }
        let at = body.len();
        body.resize(at + size, 0);
        reader.read_exact(&mut body[at..])?;
        line.clear();
        reader.read_line(line)?;
    }
}

/// Gunzips when needed and decodes; the spans counted are those carrying both attributes.
fn decode(body: &[u8], gzip: bool, plain: &mut Vec<u8>) -> Result<u64, String> {
    let bytes: &[u8] = if gzip {
        plain.clear();
        flate2::read::GzDecoder::new(body)
            .read_to_end(plain)
            .map_err(|err| format!("gunzip: {err}"))?;
        plain
    } else {
        body
    };
    let request =
        ExportTraceServiceRequest::decode(bytes).map_err(|err| format!("protobuf: {err}"))?;
    let mut spans = 0;
    for resource_spans in &request.resource_spans {
        for scope_spans in &resource_spans.scope_spans {
            for span in &scope_spans.spans {
                let has = |key: &str| span.attributes.iter().any(|kv| kv.key == key);
                if has("id") && has("name") {
                    spans += 1;
                } else {
                    return Err(format!("span {:?} lacks its attributes", span.name));
                }
            }
        }
    }
    Ok(spans)
}
