#!/usr/bin/env bash
# The whole benchmark suite, one command: per-call time (divan), per-call instructions
# (callgrind), end-to-end export, and compile cost. Results go to stdout as markdown tables;
# BENCHMARKS.md is written from them.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

cargo bench -p mackerel-trace-benches --bench overhead
benches/callgrind.sh
cargo bench -p mackerel-trace-benches --bench export
cargo bench -p mackerel-trace-benches --bench db
cargo bench -p mackerel-trace-benches --bench grpc
cargo bench -p mackerel-trace-benches --bench actix
benches/compile-cost.sh
