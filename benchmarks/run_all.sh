#!/usr/bin/env bash
# Every CPU benchmark, one after another (they must not overlap: each measures the machine),
# each one's output kept in $OUT/<name>.log and its `JSON {...}` lines in $OUT/<name>.jsonl (what
# RESULTS.md records, kept in benchmarks/results/).  Usage: bash benchmarks/run_all.sh [out-dir]
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
  grep '^JSON ' "$OUT/$name.log" | cut -c6- >"$OUT/$name.jsonl"  # what benchmarks/results/ keeps
  tail -1 "$OUT/$name.jsonl" | cut -c1-300
}
run engine_decode benchmarks/engine_decode.py --sizes 1,8,16 --reps 2 --max-new-tokens 32
# float32 is what the demo graph serves (dtype auto on a CPU); bfloat16, on a CPU with AVX-512 BF16
# / AMX, is slower for one stream and faster at 16 (engine_decode shows both).
run http_batching_fp32 benchmarks/http_batching.py --dtype float32
run http_batching_bf16 benchmarks/http_batching.py --dtype bfloat16
# The peer against ours in the same dtype: float32 (the peer as shipped: it loads the weights in
# the dtype they are stored in), then both in bfloat16.
run peer_fp32 benchmarks/peer.py --dtype float32
run peer_bf16 benchmarks/peer.py --dtype bfloat16 --peer-args "--dtype bfloat16"
# Where bfloat16's gain goes: the engine in a process, in a Ray actor, and beside a busy process.
run engine_in_actor benchmarks/engine_in_actor.py
run engine_in_actor_burn benchmarks/engine_in_actor.py --where local --burn
run ttft benchmarks/ttft.py --dtype float32
run fanout benchmarks/fanout.py --dtype float32
run overhead benchmarks/overhead.py
run overhead_nowait benchmarks/overhead.py --wait-s 0
run gpu_engine_tiny benchmarks/gpu_engine.py --tiny
# The servers as docs/performance.md's first table measures them (triserve-vllm: the role's own
# endpoint, triserve-vllm-ingress: the same role through /v1): each engine on one OpenMP thread
# (the other core for the path), the same VLLM_ENABLE_V1_MULTIPROCESSING=0 for every vLLM, three
# runs; vLLM in bfloat16 where the CPU computes it natively (AVX-512 BF16 or AMX), else float32.
# Ray Serve LLM needs `uv pip install -e ".[bench-llm]"` first (pyarrow, pandas).
DTYPE=float32
grep -qwE 'avx512_bf16|amx_bf16' /proc/cpuinfo && DTYPE=bfloat16
run servers_vllm benchmarks/servers.py --servers bare-vllm,triserve-vllm,ray-serve-llm,triserve-vllm-ingress \
  --levels 1,8,16 --requests 32 --runs 3 --rotate --dtype "$DTYPE" --engine-threads 1 \
  --vllm-env VLLM_ENABLE_V1_MULTIPROCESSING=0 --workdir "$OUT/servers_vllm"
run servers_hf benchmarks/servers.py --servers transformers-serve,triserve-hf --levels 1,8,16 \
  --requests 16 --dtype float32 --engine-threads 1 --workdir "$OUT/servers_hf"
# Where the path's CPU goes, per process, at 16 streams.
run path_cpu benchmarks/path_cpu.py --concurrency 16 --requests 64 --dtype "$DTYPE" \
  --engine-threads 1 --vllm-env VLLM_ENABLE_V1_MULTIPROCESSING=0 --workdir "$OUT/path_cpu"
run long_prompt benchmarks/long_prompt.py --workdir "$OUT/long_prompt"
run vllm_engine benchmarks/vllm_engine.py
