#!/usr/bin/env bash
# Every CPU benchmark, one after another (they must not overlap: each measures the machine),
# each one's output kept in $OUT/<name>.log; the `JSON {...}` line of each is what RESULTS.md
# records.  Usage: bash benchmarks/run_all.sh [out-dir]
set -u
cd "$(dirname "$0")/.."
OUT=${1:-benchmarks/out}
mkdir -p "$OUT"
export RAY_AUTH_MODE=${RAY_AUTH_MODE:-token} TOKENIZERS_PARALLELISM=false
PY=.venv/bin/python
run() {
  local name=$1; shift
  echo "== $name: $* ($(date -u +%H:%M:%S), load $(cut -d' ' -f1 /proc/loadavg))"
  "$PY" "$@" >"$OUT/$name.log" 2>&1 || echo "   $name failed: see $OUT/$name.log"
  grep '^JSON ' "$OUT/$name.log" | tail -1 | cut -c1-300
}
run engine_decode benchmarks/engine_decode.py --sizes 1,8,16 --reps 2 --max-new-tokens 32
run http_batching benchmarks/http_batching.py --dtype bfloat16
# The peer as shipped (it serves these weights in float32) against ours as the demo runs it
# (bfloat16), then each dtype against itself.
run peer benchmarks/peer.py --dtype bfloat16
run peer_bf16_both benchmarks/peer.py --dtype bfloat16 --peer-args "--dtype bfloat16"
run peer_fp32_both benchmarks/peer.py --dtype float32
run ttft benchmarks/ttft.py --dtype bfloat16
run fanout benchmarks/fanout.py
run overhead benchmarks/overhead.py
run gpu_engine_tiny benchmarks/gpu_engine.py --tiny
