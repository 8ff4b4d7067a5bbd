//! `throughput <threads> <spans per thread> [queue size]`: `#[traced]` calls flat out on that many threads
//! under mackerel-trace's own pipeline (`init()`, the fast path), exporting over OTLP/HTTP to a
//! sink in a child process (so that receiving costs this process nothing). Prints spans per
//! second of the calling threads, and the CPU the rest of the process (the export thread:
//! turning records into spans, encoding, gzip, HTTP) spent per exported span.
//!
//! `throughput sink` is the child: an HTTP/1.1 server on 127.0.0.1 that reads each request's
//! body and answers 200, printing its address first.

use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::net::{TcpListener, TcpStream};
use std::process::{Command, ExitCode, Stdio};
use std::time::{Duration, Instant};

use mackerel_trace_benches::work::traced;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.as_slice() {
        [sink] if sink == "sink" => {
            run_sink();
            ExitCode::SUCCESS
        }
        [threads, spans, rest @ ..] if rest.len() <= 1 => {
            let queue = rest.first().map(|q| q.parse::<usize>());
            match (threads.parse::<usize>(), spans.parse::<u64>(), queue) {
                (Ok(threads), Ok(spans), None) if threads > 0 => {
                    // Room for every span: what the calling threads cost with nothing dropped.
                    let queue = (spans as usize).clamp(2048, 1 << 20);
                    measure(threads, spans, queue);
                    ExitCode::SUCCESS
                }
                (Ok(threads), Ok(spans), Some(Ok(queue))) if threads > 0 => {
                    measure(threads, spans, queue);
                    ExitCode::SUCCESS
                }
                _ => usage(),
            }
        }
        _ => usage(),
    }
}

fn usage() -> ExitCode {
    eprintln!("usage: throughput <threads> <spans per thread> [queue size] | throughput sink");
    ExitCode::FAILURE
}

fn measure(threads: usize, spans: u64, queue: usize) {
    let mut sink = Command::new(std::env::current_exe().expect("this binary"))
        .arg("sink")
        .stdout(Stdio::piped())
        .spawn()
        .expect("the sink starts");
    let mut address = String::new();
    BufReader::new(sink.stdout.take().expect("piped"))
        .read_line(&mut address)
        .expect("the sink's address");
    let endpoint = format!("http://{}/v1/traces", address.trim());

    let queue = queue.to_string();
    let guard = mackerel_trace::Config::new()
        .service_name("throughput")
        .with_env_vars([
            ("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", endpoint.as_str()),
            ("OTEL_BSP_MAX_QUEUE_SIZE", queue.as_str()),
        ])
        // Every span exported before the counts are read, however long it takes.
        .shutdown_timeout(Duration::from_secs(120))
        .init()
        .expect("the pipeline");

    let cpu_before = process_cpu();
    let started = Instant::now();
    let app_cpu: Duration = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..threads)
            .map(|t| {
                scope.spawn(move || {
                    for i in 0..spans {
                        std::hint::black_box(traced::work(
                            std::hint::black_box(t as u64 * spans + i),
                            std::hint::black_box("throughput"),
                        ))
                        .ok();
                    }
                    thread_cpu()
                })
            })
            .collect();
        workers.into_iter().map(|w| w.join().expect("worker")).sum()
    });
    let calling = started.elapsed();
    let stats = guard.shutdown();
    let total_cpu = process_cpu().saturating_sub(cpu_before);
    let _ = sink.kill();
    let _ = sink.wait();

    let created = threads as u64 * spans;
    let peak_rss_kib = std::fs::read_to_string("/proc/self/status")
        .unwrap_or_default()
        .lines()
        .find_map(|line| line.strip_prefix("VmHWM:"))
        .and_then(|rest| rest.split_whitespace().next()?.parse::<u64>().ok())
        .unwrap_or(0);
    let export_cpu = total_cpu.saturating_sub(app_cpu);
    println!(
        "threads {threads}: {created} spans in {:.3} s = {:.0} spans/s ({:.0} per thread); \
         calling threads' CPU {:.0} ns/span; the rest of the process (export) {:.0} ns of CPU \
         per exported span; exported {}, dropped {}; peak RSS {} MiB",
        calling.as_secs_f64(),
        created as f64 / calling.as_secs_f64(),
        spans as f64 / calling.as_secs_f64(),
        app_cpu.as_nanos() as f64 / created as f64,
        export_cpu.as_nanos() as f64 / stats.exported.max(1) as f64,
        stats.exported,
        stats.dropped(),
        peak_rss_kib / 1024,
    );
}

/// CPU time (user + system) of this process, from `/proc/self/stat`.
fn process_cpu() -> Duration {
    proc_cpu("/proc/self/stat")
}

/// CPU time of the calling thread, from `/proc/thread-self/stat`.
fn thread_cpu() -> Duration {
    proc_cpu("/proc/thread-self/stat")
}

fn proc_cpu(path: &str) -> Duration {
    let stat = std::fs::read_to_string(path).unwrap_or_default();
    // Fields after the command name (which may hold spaces) start after the last ')'.
    let rest = stat.rsplit_once(')').map_or("", |(_, rest)| rest);
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|f| f.parse::<u64>().ok())
            .unwrap_or(0)
    };
    // utime and stime are fields 14 and 15 of the line: 11 and 12 after the state field.
    let total = ticks(11) + ticks(12);
    // Clock ticks are 100 per second on Linux.
    Duration::from_millis(total * 10)
}

fn run_sink() {
    let listener = TcpListener::bind("127.0.0.1:0").expect("a port");
    println!("{}", listener.local_addr().expect("its address"));
    let _ = std::io::stdout().flush();
    for stream in listener.incoming().flatten() {
        std::thread::spawn(move || serve(stream));
    }
}

/// Reads requests off one connection and answers each with 200, until it closes.
fn serve(stream: TcpStream) {
    let mut reader = BufReader::new(stream.try_clone().expect("the connection"));
    let mut writer = stream;
    loop {
        let mut length = 0usize;
        let mut line = String::new();
        // Request line and headers.
        loop {
            line.clear();
            match reader.read_line(&mut line) {
                Ok(0) | Err(_) => return,
                Ok(_) => {}
            }
            if line == "\r\n" {
                break;
            }
            if let Some((name, value)) = line.split_once(':') {
                if name.eq_ignore_ascii_case("content-length") {
                    length = value.trim().parse().unwrap_or(0);
                }
            }
        }
        let mut body = vec![0; length];
        if reader.read_exact(&mut body).is_err() {
            return;
        }
        let answer =
            "HTTP/1.1 200 OK\r\ncontent-type: application/x-protobuf\r\ncontent-length: 0\r\n\r\n";
        if writer.write_all(answer.as_bytes()).is_err() {
            return;
        }
    }
}
