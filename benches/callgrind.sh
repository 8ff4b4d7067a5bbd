#!/usr/bin/env bash
# Instructions per call of every benchmark variant, counted by callgrind (deterministic enough
# on a shared machine to show regressions without timing noise).
#
#   benches/callgrind.sh                  # every variant
#   benches/callgrind.sh sync_traced ...  # some of them (`target/release/calls list` names them)
#   CALLS_N=20000 benches/callgrind.sh    # calls per run (default 20000)
#
# Each variant runs under `valgrind --tool=callgrind` twice, with n and 2n calls, set up exactly
# as the divan suite sets it up (benches/src/variants.rs). Only `run_loop` and what it calls, on
# the calling thread, is counted (`--toggle-collect`): setup, teardown and the batch processor's
# export thread are not. Instructions per call = (Ir(2n) - Ir(n)) / n, which also cancels
# one-time costs inside the loop (first-call initialisation, thread-locals).
#
# Variants that record spans run n = CALLS_N / spans-per-call calls, so that 2n calls never end
# more spans than the batch queue holds (a full queue drops spans, which is cheaper).
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

command -v valgrind >/dev/null || { echo "callgrind.sh: valgrind is not installed" >&2; exit 1; }

n_base="${CALLS_N:-20000}"
target_dir="${CARGO_TARGET_DIR:-$root/target}"
calls="$target_dir/release/calls"

echo "building the calls binary (release)..." >&2
cargo build --release --offline --quiet -p mackerel-trace-benches --bin calls

work="$(mktemp -d "${TMPDIR:-/tmp}/callgrind.XXXXXX")"
trap 'rm -rf "$work"' EXIT

declare -A spans_of
all=()
while read -r name spans; do
    spans_of[$name]=$spans
    all+=("$name")
done < <("$calls" list)

if (($# > 0)); then
    variants=("$@")
else
    variants=("${all[@]}")
fi

# Ir counted inside run_loop for `calls <variant> <n>`.
count() {
    local variant=$1 n=$2 out="$work/$1.$2.out"
    if ! valgrind --tool=callgrind --toggle-collect='*run_loop*' \
        --callgrind-out-file="$out" "$calls" "$variant" "$n" >"$work/$1.$2.log" 2>&1; then
        echo "callgrind.sh: $variant $n failed:" >&2
        cat "$work/$1.$2.log" >&2
        exit 1
    fi
    # The calls binary warns when a run may overflow the batch queue.
    grep -h '^calls: warning' "$work/$1.$2.log" >&2 || true
    awk '/^totals:/ { print $2; found = 1 } END { if (!found) exit 1 }' "$out"
}

declare -A per_call
rows=()
for variant in "${variants[@]}"; do
    if [[ -z "${spans_of[$variant]+x}" ]]; then
        echo "callgrind.sh: unknown variant $variant (known: ${all[*]})" >&2
        exit 1
    fi
    spans=${spans_of[$variant]}
    n=$n_base
    ((spans > 1)) && n=$((n_base / spans))
    echo "  $variant: $n and $((2 * n)) calls..." >&2
    ir1=$(count "$variant" "$n")
    ir2=$(count "$variant" $((2 * n)))
    per=$(awk -v a="$ir1" -v b="$ir2" -v n="$n" 'BEGIN { printf "%.1f", (b - a) / n }')
    per_call[$variant]=$per
    rows+=("| \`$variant\` | $n | $ir1 | $ir2 | $per |")
done

echo
echo "### Instructions per call (callgrind, calling thread only)"
echo
echo "| variant | n | Ir(n) | Ir(2n) | instructions/call |"
echo "|---|---:|---:|---:|---:|"
printf '%s\n' "${rows[@]}"

# ratio NAME A B OP TARGET: A/B against a target (OP is >= or <=).
ratio_rows=()
ratio() {
    local label=$1 a=$2 b=$3 op=$4 target=$5
    [[ -n "${per_call[$a]+x}" && -n "${per_call[$b]+x}" ]] || return 0
    ratio_rows+=("$(awk -v l="$label" -v a="${per_call[$a]}" -v b="${per_call[$b]}" \
        -v op="$op" -v t="$target" 'BEGIN {
            r = (b == 0) ? 0 : a / b
            ok = (op == "<=") ? (r <= t) : (r >= t)
            printf "| %s | %.3f | %s %s | %s |", l, r, op, t, ok ? "met" : "**missed**"
        }')")
}
ratio "sync: traced / manual OTel" sync_traced sync_manual_otel "<=" 1.05
ratio "async: traced / manual OTel" async_traced async_manual_otel "<=" 1.05
ratio "Err: traced / manual OTel" err_traced err_manual_otel "<=" 1.05
ratio "10-deep tree: traced / manual OTel" tree10_traced tree10_manual_otel "<=" 1.05
ratio "sync: traced / manual OTel doing the same work (reference)" sync_traced sync_manual_otel_same_work "<=" 1.05
ratio "Err: traced / manual OTel doing the same work (reference)" err_traced err_manual_otel_same_work "<=" 1.05
ratio "sync: tracing-opentelemetry / traced" sync_tracing_opentelemetry sync_traced ">=" 2.5
ratio "async: tracing-opentelemetry / traced" async_tracing_opentelemetry async_traced ">=" 2.5
ratio "Err: tracing-opentelemetry (err) / traced" err_tracing_opentelemetry err_traced ">=" 3
ratio "sync: fastrace / traced (reference)" sync_fastrace sync_traced ">=" 0

off_rows=()
for variant in off_traced_no_pipeline off_traced_sdk_disabled off_traced_exporter_none \
    off_traced_always_off off_traced_sampled_out_by_ratio \
    off_manual_otel_noop_global off_tracing_no_subscriber; do
    [[ -n "${per_call[$variant]+x}" && -n "${per_call[sync_bare]+x}" ]] || continue
    case $variant in
    off_traced_sampled_out_by_ratio | off_manual_otel_noop_global | off_tracing_no_subscriber)
        target="(reference)" ;;
    *) target="<= 50" ;;
    esac
    off_rows+=("$(awk -v v="$variant" -v a="${per_call[$variant]}" -v b="${per_call[sync_bare]}" \
        -v t="$target" 'BEGIN {
            d = a - b
            s = (t == "(reference)") ? "" : ((d <= 50) ? "met" : "**missed**")
            printf "| `%s` − `sync_bare` | %.1f | %s | %s |", v, d, t, s
        }')")
done

if ((${#ratio_rows[@]} > 0)); then
    echo
    echo "### Ratios (instructions per call, same run)"
    echo
    echo "| ratio | measured | target | |"
    echo "|---|---:|---:|---|"
    printf '%s\n' "${ratio_rows[@]}"
fi
if ((${#off_rows[@]} > 0)); then
    echo
    echo "### Off paths over the bare function (instructions per call)"
    echo
    echo "| difference | instructions | target | |"
    echo "|---|---:|---:|---|"
    printf '%s\n' "${off_rows[@]}"
fi
