#!/usr/bin/env bash
# Rebuilds every benchmark module from bench/programs/*.vera:
#   NAME.wasm        by Vera 0.2.3 (Map/Set in host-imported buckets: the
#                    ABI vera-rt targets)
#   NAME.v025.wasm   by Vera 0.2.5 (Map/Set as a hash trie inside the
#                    module: the peer every figure is compared with)
# The compilers are installed into virtual environments on first use
# (VERA_VENV / VERA25_VENV to reuse existing ones).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
venv23="${VERA_VENV:-$root/.venv-vera}"
venv25="${VERA25_VENV:-$root/.venv-vera25}"
for pair in "$venv23:0.2.3" "$venv25:0.2.5"; do
  venv=${pair%%:*}; version=${pair##*:}
  if [ ! -x "$venv/bin/vera" ]; then
    python3 -m venv "$venv"
    "$venv/bin/pip" install -q "veralang==$version"
  fi
done
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
for src in "$root"/bench/programs/*.vera; do
  name=$(basename "$src" .vera)
  cp "$src" "$work/$name.vera"
  (cd "$work" && "$venv23/bin/vera" compile "$name.vera" >/dev/null)
  mv "$work/$name.wasm" "$root/bench/programs/$name.wasm"
  (cd "$work" && "$venv25/bin/vera" compile "$name.vera" >/dev/null)
  mv "$work/$name.wasm" "$root/bench/programs/$name.v025.wasm"
  echo "built $name"
done
