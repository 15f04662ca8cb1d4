#!/usr/bin/env bash
# Whole-process comparison on the chain benchmark (bench/programs/int_chain):
# vera-rt against Vera 0.2.3's own host (`vera run`, Python + wasmtime-py),
# side by side in one run. Python is skipped above PY_MAX inserts (it is
# quadratic: ~2 minutes at 10 000).
#   bench/compare.sh [SIZES...]     default: 1000 10000 100000 1000000
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
cargo build --release -q
venv="${VERA_VENV:-$root/.venv-vera}"
py_max=${PY_MAX:-10000}
sizes=("${@:-1000 10000 100000 1000000}")
[ $# -eq 0 ] && sizes=(1000 10000 100000 1000000)

wall() { # prints seconds for one run of "$@"
  local start end
  start=$(date +%s.%N)
  "$@" >/dev/null 2>&1
  end=$(date +%s.%N)
  echo "$end - $start" | bc -l
}

printf '%-10s %-14s %-14s %-14s %-10s\n' inserts vera-rt_run_ms vera-rt_total_s vera_run_s ratio
for n in "${sizes[@]}"; do
  run_ms=$(./target/release/vera-rt run bench/programs/int_chain.wasm --stats -- "$n" 2>&1 >/dev/null | awk '/run time/ {print $3}')
  ours=$(wall ./target/release/vera-rt run bench/programs/int_chain.wasm -- "$n")
  if [ "$n" -le "$py_max" ] && [ -x "$venv/bin/vera" ]; then
    theirs=$(wall "$venv/bin/vera" run bench/programs/int_chain.vera -- "$n")
    ratio=$(echo "$theirs / $ours" | bc -l | xargs printf '%.0fx')
  else
    theirs="-"; ratio="-"
  fi
  printf '%-10s %-14s %-14.3f %-14s %-10s\n' "$n" "$run_ms" "$ours" "$theirs" "$ratio"
done
