#!/usr/bin/env bash
# What depending on mackerel-trace costs at build time.
#
#   benches/compile-cost.sh
#   COMPILE_COST_RUNS=7 benches/compile-cost.sh     # timed `cargo check` runs per file (default 5)
#   COMPILE_COST_SKIP_CLEAN=1 benches/compile-cost.sh  # only part (b)
#   COMPILE_COST_REV=HEAD benches/compile-cost.sh   # a commit (git archive) instead of the work tree
#   COMPILE_COST_PASSES=1 benches/compile-cost.sh   # also rustc's time per pass (RUSTC_BOOTSTRAP=1)
#   COMPILE_COST_FNS=16 benches/compile-cost.sh     # functions per file (default 500)
#
# (a) Clean `cargo build` (dev profile) of a user binary with `#[mackerel_trace::main]` and one
#     `#[traced]` function, in its own target directory, with the repository's Cargo.lock so the
#     versions match: wall time, crates compiled, and the crates that took longest
#     (from `cargo build --timings`).
# (b) `cargo check` of a file with 500 `#[traced]` functions (record(...), Result returns, async,
#     ret, kinds — mixed) against the same file with the attributes removed, dependencies already
#     built: the file is touched and only its crate re-checked, median of COMPILE_COST_RUNS, both
#     incremental (the edit loop) and with CARGO_INCREMENTAL=0 (a whole check, as in CI). The
#     same for files of 500 functions all of one kind, to show which option costs. References:
#     `#[tracing::instrument]` / `#[tracing::instrument(err)]` on the same functions, and
#     `#[traced]` with proc macros built optimised (`[profile.dev.build-override] opt-level = 3`).
#
# Everything is generated under target/compile-cost/ (or $COMPILE_COST_DIR) and built with
# --offline: no network.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

base="${COMPILE_COST_DIR:-$root/target/compile-cost}"
runs="${COMPILE_COST_RUNS:-5}"
fns="${COMPILE_COST_FNS:-500}"
mkdir -p "$base"

# The mackerel-trace measured: the work tree, or a commit extracted with `git archive`.
source="$root"
if [[ -n "${COMPILE_COST_REV:-}" ]]; then
    commit=$(git rev-parse --verify "${COMPILE_COST_REV}^{commit}")
    source="$base/source-${commit:0:12}"
    if [[ ! -d "$source" ]]; then
        mkdir -p "$source.tmp"
        git archive "$commit" | tar -x -C "$source.tmp"
        mv "$source.tmp" "$source"
    fi
    echo "measuring mackerel-trace at $commit" >&2
fi
# The generated projects are their own workspaces, built with their own target directories.
unset CARGO_TARGET_DIR

now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", b - a }'; }

# A package depending on this checkout of mackerel-trace, with the repository's lock file.
new_package() {
    local dir=$1 name=$2
    rm -rf "$dir"
    mkdir -p "$dir/src"
    cat >"$dir/Cargo.toml" <<EOF
[package]
name = "$name"
version = "0.1.0"
edition = "2021"
publish = false

[dependencies]
mackerel-trace = { path = "$source/mackerel-trace" }

# Not part of the repository's workspace.
[workspace]
EOF
    cp "$source/Cargo.lock" "$dir/Cargo.lock"
}

# ---------------------------------------------------------------------------------------------
# (a) clean build of a user binary

clean_rows=()
if [[ -z "${COMPILE_COST_SKIP_CLEAN:-}" ]]; then
    app="$base/app"
    new_package "$app" compile-cost-app
    cat >"$app/src/main.rs" <<'EOF'
use mackerel_trace::traced;

#[traced(record(id))]
fn load_user(id: u64) -> Result<String, std::io::Error> {
    Ok(format!("user {id}"))
}

#[mackerel_trace::main]
fn main() {
    load_user(42).unwrap();
}
EOF
    echo "(a) clean dev build of a user binary in $app ..." >&2
    start=$(now)
    (cd "$app" && cargo build --offline --timings 2>"$app/build.log") || {
        cat "$app/build.log" >&2
        exit 1
    }
    build_s=$(elapsed "$start" "$(now)")
    compiled=$(grep -c '^ *Compiling ' "$app/build.log" || true)
    in_tree=$(cd "$app" && cargo tree --offline --prefix none -e normal,build | sed 's/ (\*)$//' | sort -u | wc -l)
    clean_rows+=("| clean \`cargo build\` (dev), wall | ${build_s} s |")
    clean_rows+=("| crates compiled (\`Compiling\` lines, the binary included) | $compiled |")
    clean_rows+=("| packages in \`cargo tree -e normal,build\` (the binary included) | $in_tree |")
    clean_rows+=("| jobs | $(nproc) cores |")

    timing_html=$(ls -t "$app"/target/cargo-timings/cargo-timing*.html 2>/dev/null | head -1 || true)
    if [[ -n "$timing_html" ]] && command -v python3 >/dev/null; then
        top=$(python3 - "$timing_html" <<'EOF'
import json, re, sys
html = open(sys.argv[1]).read()
m = re.search(r"const UNIT_DATA = (\[.*?\]);\n", html, re.S)
if not m:
    sys.exit(0)
units = json.loads(m.group(1))
rows = {}
for u in units:
    key = (u["name"], u["version"], u.get("target", "").strip())
    rows[key] = rows.get(key, 0) + u["duration"]
for (name, version, target), d in sorted(rows.items(), key=lambda kv: -kv[1])[:12]:
    print(f"| `{name}` {version}{' ' + target if target else ''} | {d:.2f} s |")
EOF
)
    fi
fi

# ---------------------------------------------------------------------------------------------
# (b) cargo check of 500 #[traced] functions against the same 500 without the attribute

# One function `f_$i` of kind $2; `$3` is "traced" or "plain".
gen_fn() {
    local i=$1 kind=$2 mode=$3 attr="" sig body
    case $kind in
    sync)
        attr="#[traced]"
        sig="pub fn f_$i(x: u64) -> u64"
        body="let mut acc = x;
    for k in 0..($i % 7 + 1) { acc = acc.wrapping_mul(31).wrapping_add(k); }
    acc" ;;
    record)
        attr="#[traced(record(id, name))]"
        sig="pub fn f_$i(id: u64, name: &str) -> u64"
        body="id.wrapping_mul($i) ^ name.len() as u64" ;;
    record_exprs)
        attr="#[traced(record(user.id = id, %name, len = name.len(), ?flags))]"
        sig="pub fn f_$i(id: u64, name: &str, flags: &[u8]) -> u64"
        body="id.wrapping_add($i) ^ (name.len() + flags.len()) as u64" ;;
    result)
        attr="#[traced]"
        sig="pub fn f_$i(x: u64) -> Result<u64, std::io::Error>"
        body="if x == $i {
        return Err(std::io::Error::other(\"f_$i\"));
    }
    Ok(x.wrapping_mul($i))" ;;
    result_custom)
        attr="#[traced(record(id))]"
        sig="pub fn f_$i(id: u64) -> Result<u64, Error>"
        body="if id == $i {
        return Err(Error(id));
    }
    Ok(id + $i)" ;;
    async)
        attr="#[traced]"
        sig="pub async fn f_$i(x: u64) -> u64"
        body="x.wrapping_mul($i)" ;;
    async_result)
        attr="#[traced(record(id, name))]"
        sig="pub async fn f_$i(id: u64, name: &str) -> Result<usize, std::io::Error>"
        body="if id == $i {
        return Err(std::io::Error::other(\"f_$i\"));
    }
    Ok(name.len())" ;;
    ret)
        attr="#[traced(ret, kind = server, name = \"handler.f_$i\")]"
        sig="pub fn f_$i(x: u64) -> u64"
        body="x ^ $i" ;;
    *)
        echo "gen_fn: unknown kind $kind" >&2
        exit 1 ;;
    esac
    [[ $mode == traced ]] || attr=""
    printf '%s\n%s {\n    %s\n}\n\n' "$attr" "$sig" "$body"
}

mixed_kinds=(sync record record_exprs result result_custom async async_result ret)

# A file of $fns functions, of kind $1 ("mixed" cycles through every kind), in mode $2.
gen_file() {
    local kind=$1 mode=$2 i k
    printf '//! Generated by benches/compile-cost.sh: %s functions, %s, %s.\n' "$fns" "$kind" "$mode"
    printf '#![allow(dead_code, unused_imports)]\n\n'
    printf 'use mackerel_trace::traced;\n\n'
    printf '#[derive(Debug)]\npub struct Error(u64);\n\n'
    printf 'impl std::fmt::Display for Error {\n    fn fmt(&self, f: &mut std::fmt::Formatter<'"'"'_>) -> std::fmt::Result {\n        write!(f, "error {}", self.0)\n    }\n}\n\n'
    printf 'impl std::error::Error for Error {}\n\n'
    for ((i = 0; i < fns; i++)); do
        if [[ $kind == mixed ]]; then
            k=${mixed_kinds[$((i % ${#mixed_kinds[@]}))]}
        else
            k=$kind
        fi
        gen_fn "$i" "$k" "$mode"
    done
}

pkg="$base/fns"
new_package "$pkg" compile-cost-fns
# For the reference rows only (an unused dependency is never loaded by rustc).
sed -i 's/^\[dependencies\]$/[dependencies]\ntracing = { version = "0.1", default-features = false, features = ["std", "attributes"] }/' \
    "$pkg/Cargo.toml"
gen="$base/generated"
mkdir -p "$gen"

# Median wall time of `cargo check` of the fns crate with src/lib.rs = $1, after one warm-up
# that also builds the dependencies. The rest of the arguments are environment settings
# (`env`), e.g. CARGO_INCREMENTAL=0 with a target directory of its own.
check_median() {
    local file=$1 times=() r start
    shift
    cp "$file" "$pkg/src/lib.rs"
    (cd "$pkg" && env "$@" cargo check --offline -q 2>"$pkg/check.log") || {
        cat "$pkg/check.log" >&2
        echo "compile-cost.sh: $file does not check" >&2
        exit 1
    }
    for ((r = 0; r < runs; r++)); do
        touch "$pkg/src/lib.rs"
        start=$(now)
        (cd "$pkg" && env "$@" cargo check --offline -q)
        times+=("$(elapsed "$start" "$(now)")")
    done
    printf '%s\n' "${times[@]}" | sort -n | awk '{ t[NR] = $1 } END { print t[int((NR + 1) / 2)] }'
}

incremental=(CARGO_INCREMENTAL=1)
non_incremental=(CARGO_INCREMENTAL=0 "CARGO_TARGET_DIR=$pkg/target-non-incremental")
# Proc macros (and syn) optimised, as `[profile.dev.build-override] opt-level = 3` would.
optimized_macros=(CARGO_INCREMENTAL=1 CARGO_PROFILE_DEV_BUILD_OVERRIDE_OPT_LEVEL=3
    "CARGO_TARGET_DIR=$pkg/target-optimized-macros")

# One table row: label, lines, then plain and instrumented medians for incremental and
# non-incremental checks.
row() {
    awk -v k="$1" -v l="$2" -v p="$3" -v t="$4" -v pn="$5" -v tn="$6" -v n="$fns" 'BEGIN {
        printf "| %s | %d | %.2f s | %.2f s | %+.0f%% | %.2f ms | %.2f s | %.2f s | %+.0f%% | %.2f ms |",
            k, l, p, t, (t - p) / p * 100, (t - p) * 1000 / n,
            pn, tn, (tn - pn) / pn * 100, (tn - pn) * 1000 / n
    }'
}

echo "(b) cargo check, $fns functions per file, median of $runs (dependencies built first) ..." >&2
check_rows=()
declare -A plain_incr plain_non
for kind in mixed sync record record_exprs result result_custom async async_result ret; do
    gen_file "$kind" traced >"$gen/$kind.traced.rs"
    gen_file "$kind" plain >"$gen/$kind.plain.rs"
    echo "  $kind ..." >&2
    plain_incr[$kind]=$(check_median "$gen/$kind.plain.rs" "${incremental[@]}")
    plain_non[$kind]=$(check_median "$gen/$kind.plain.rs" "${non_incremental[@]}")
    t_incr=$(check_median "$gen/$kind.traced.rs" "${incremental[@]}")
    t_non=$(check_median "$gen/$kind.traced.rs" "${non_incremental[@]}")
    check_rows+=("$(row "$kind" "$(wc -l <"$gen/$kind.traced.rs")" "${plain_incr[$kind]}" "$t_incr" \
        "${plain_non[$kind]}" "$t_non")")
done

# References: the same files with `tracing::instrument`, and #[traced] with optimised macros.
echo "  references ..." >&2
ref_rows=()
sed 's/^#\[traced\]$/#[tracing::instrument]/' "$gen/sync.traced.rs" >"$gen/sync.tracing.rs"
sed 's/^#\[traced\]$/#[tracing::instrument(err)]/' "$gen/result.traced.rs" >"$gen/result.tracing.rs"
for kind in sync result; do
    attr="#[tracing::instrument]"
    [[ $kind == sync ]] || attr="#[tracing::instrument(err)]"
    label="$kind, \`$attr\` instead"
    ref_rows+=("$(row "$label" "$(wc -l <"$gen/$kind.tracing.rs")" \
        "${plain_incr[$kind]}" "$(check_median "$gen/$kind.tracing.rs" "${incremental[@]}")" \
        "${plain_non[$kind]}" "$(check_median "$gen/$kind.tracing.rs" "${non_incremental[@]}")")")
done
opt_plain=$(check_median "$gen/mixed.plain.rs" "${optimized_macros[@]}")
opt_traced=$(check_median "$gen/mixed.traced.rs" "${optimized_macros[@]}")
ref_rows+=("$(awk -v p="$opt_plain" -v t="$opt_traced" -v n="$fns" -v l="$(wc -l <"$gen/mixed.traced.rs")" 'BEGIN {
    printf "| mixed, proc macros built with opt-level 3 | %d | %.2f s | %.2f s | %+.0f%% | %.2f ms | | | | |",
        l, p, t, (t - p) / p * 100, (t - p) * 1000 / n
}')")

# Where the time goes (COMPILE_COST_PASSES=1): rustc's -Ztime-passes and the size of the
# expanded code, for the mixed file with and without the attribute. Stable rustc accepts -Z only
# with RUSTC_BOOTSTRAP=1, hence opt-in; nothing else uses it.
pass_rows=()
if [[ -n "${COMPILE_COST_PASSES:-}" ]]; then
    echo "  time passes ..." >&2
    for mode in plain traced; do
        cp "$gen/mixed.$mode.rs" "$pkg/src/lib.rs"
        touch "$pkg/src/lib.rs"
        passes=$(cd "$pkg" && RUSTC_BOOTSTRAP=1 CARGO_INCREMENTAL=0 CARGO_TARGET_DIR="$pkg/target-passes" \
            cargo rustc --offline -q --profile check --lib -- -Ztime-passes 2>&1)
        touch "$pkg/src/lib.rs"
        expanded=$(cd "$pkg" && RUSTC_BOOTSTRAP=1 CARGO_INCREMENTAL=0 CARGO_TARGET_DIR="$pkg/target-passes" \
            cargo rustc --offline -q --profile check --lib -- -Zunpretty=expanded 2>/dev/null | wc -lc)
        pass_rows+=("$(awk -v m="$mode" -v e="$expanded" '
            $NF == "total" { total = $2 } $NF == "macro_expand_crate" { expand = $2 }
            $NF == "type_check_crate" { tc = $2 } $NF == "MIR_borrow_checking" { bc = $2 }
            END {
                split(e, size, " ")
                printf "| mixed, %s | %d | %d KB | %.2f s | %.2f s | %.2f s | %.2f s |",
                    m, size[1], size[2] / 1024, expand, tc, bc, total
            }' <<<"$passes")")
    done
fi

# ---------------------------------------------------------------------------------------------

if ((${#clean_rows[@]} > 0)); then
    echo
    echo "### Clean build of a user binary (\`#[mackerel_trace::main]\` + one \`#[traced]\`)"
    echo
    echo "| measure | value |"
    echo "|---|---:|"
    printf '%s\n' "${clean_rows[@]}"
    if [[ -n "${top:-}" ]]; then
        echo
        echo "Longest units of that build (\`cargo build --timings\`; they overlap on $(nproc) cores):"
        echo
        echo "| crate | time |"
        echo "|---|---:|"
        printf '%s\n' "$top"
    fi
fi
echo
echo "### \`cargo check\` of $fns functions with and without \`#[traced]\` (median of $runs, wall)"
echo
echo "Target: the mixed file < +20%. Each other kind is a file of $fns functions of that kind only."
echo "Incremental: the file touched and re-checked, as in an edit loop (type-check results of"
echo "unchanged items are reused; proc macros always run again). Non-incremental: CARGO_INCREMENTAL=0,"
echo "the whole crate checked, as in CI. \"lines\" counts the file with the attribute."
echo
echo "| functions | lines | incremental, without | with | extra | per function | non-incremental, without | with | extra | per function |"
echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
printf '%s\n' "${check_rows[@]}"
echo
echo "References (the \"without\" columns are the same files without any attribute):"
echo
echo "| functions | lines | incremental, without | with | extra | per function | non-incremental, without | with | extra | per function |"
echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
printf '%s\n' "${ref_rows[@]}"
if ((${#pass_rows[@]} > 0)); then
    echo
    echo "rustc passes, non-incremental (\`-Ztime-passes\`; expanded size from \`-Zunpretty=expanded\`):"
    echo
    echo "| file | expanded lines | expanded size | macro expansion | type check | borrow check | rustc total |"
    echo "|---|---:|---:|---:|---:|---:|---:|"
    printf '%s\n' "${pass_rows[@]}"
fi
