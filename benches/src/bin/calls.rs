//! `calls <variant> <n>`: sets `<variant>` up exactly as the divan suite does and calls it `n`
//! times inside [`run_loop`], for `valgrind --tool=callgrind --toggle-collect='*run_loop*'`
//! (`benches/callgrind.sh`). `calls list` prints the variant names, one a line, with the spans
//! each call records.

use std::hint::black_box;
use std::process::ExitCode;

use mackerel_trace_benches::variants::{self, Loop, Variant};

/// Calls `call` `n` times. Not inlined, so callgrind can count exactly this function and what it
/// calls, on this thread only: setup, teardown and the export thread stay out of the count.
#[inline(never)]
fn run_loop<O, F: FnMut() -> O>(n: u64, mut call: F) {
    for _ in 0..n {
        black_box(call());
    }
}

struct Counted(u64);

impl Loop for Counted {
    fn run<O, F: FnMut() -> O>(self, call: F) {
        run_loop(self.0, call);
    }
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.as_slice() {
        [list] if list == "list" => {
            for variant in Variant::ALL {
                println!("{} {}", variant.name(), variant.spans_per_call());
            }
            ExitCode::SUCCESS
        }
        [name, n] => {
            let Some(variant) = Variant::from_name(name) else {
                eprintln!("calls: unknown variant {name:?}; `calls list` names them");
                return ExitCode::FAILURE;
            };
            let Ok(n) = n.parse::<u64>() else {
                eprintln!("calls: call count {n:?} is not a number");
                return ExitCode::FAILURE;
            };
            let spans = n as usize * variant.spans_per_call();
            if spans > mackerel_trace_benches::QUEUE_SIZE {
                eprintln!(
                    "calls: warning: {spans} spans may exceed the batch queue ({}) before the \
                     export thread drains it; dropped spans cost less than exported ones",
                    mackerel_trace_benches::QUEUE_SIZE
                );
            }
            variants::run(variant, Counted(n));
            ExitCode::SUCCESS
        }
        _ => {
            eprintln!("usage: calls <variant> <n> | calls list");
            ExitCode::FAILURE
        }
    }
}
