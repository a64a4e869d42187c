"""The CPU each process of a server spends per generated token, and how long the engine waited
for a core: bare vLLM against a triserve vLLM role (at each `--chunk-intervals` of the role),
under the same closed-loop streaming load, one server after another.

    .venv/bin/python benchmarks/path_cpu.py --dtype bfloat16 --engine-threads 1 \
        --vllm-env VLLM_ENABLE_V1_MULTIPROCESSING=0 --chunk-intervals 0,50

Each server is started as benchmarks/servers.py starts it; after one unmeasured round,
`--requests` greedy streaming chats (64 tokens each) run from `--concurrency` clients. Over
that window every process under this one is read twice (psutil's CPU times; the sum over its
threads of /proc/PID/task/TID/schedstat's time spent runnable but waiting for a CPU), and the
differences are grouped: Ray's proxy, the ingress replica, the model replica (with vLLM's
`AsyncLLM` front end in it), vLLM's engine core, vLLM's own API server (bare), and Ray's other
processes (controller, raylet, GCS, dashboard, the vote store), in all and one by one. Printed
per server: tokens/s, TTFT p50, then per group its CPU milliseconds per generated token, its
share of a core and the seconds it waited for one; the path's ms per token is everything but the
engine core's and the load generator's.
"""

from __future__ import annotations

import argparse
import asyncio
import time
from pathlib import Path

import psutil

from common import chat_level, converted_smollm2, machine, report
from processes import reaped, servers_and_workdir
from servers import SERVERS, add_server_options, chunk_intervals, start

GROUPS = (("ray::ProxyActor", "Ray's proxy"), (":Ingress", "ingress replica"),
          (":Instruct", "model replica"), ("EngineCore", "vLLM engine core"),
          ("vllm.entrypoints.openai.api_server", "vLLM API server"))
OTHER = "Ray's other processes"


def group(cmdline: str) -> str:
    """The group a process belongs to, by its command line (Ray names its workers' titles):
    one of GROUPS, else `Ray's other processes: NAME` (NAME: the actor, the executable or the
    script)."""
    for mark, name in GROUPS:
        if mark in cmdline:
            return name
    words = cmdline.split()
    if not words:
        return f"{OTHER}: ?"
    if words[0].startswith("ray::"):
        return f"{OTHER}: {words[0][5:].split(':')[-1]}"
    if words[0].startswith("ray-dashboard-"):
        return f"{OTHER}: dashboard modules"
    scripts = [w for w in words[1:] if w.endswith(".py")]
    return f"{OTHER}: {Path(scripts[0] if scripts else words[0]).name}"


def _waited_s(pid: int) -> float:
    """Seconds the process's threads spent runnable, waiting for a CPU (schedstat, 2nd field)."""
    total = 0
    for task in Path(f"/proc/{pid}/task").iterdir():
        total += int((task / "schedstat").read_text().split()[1])
    return total / 1e9


def snapshot(me: psutil.Process) -> dict[int, tuple[str, float, float]]:
    """pid → (group, CPU seconds so far, seconds waited for a CPU so far) of each of `me`'s
    descendants."""
    out = {}
    for p in me.children(recursive=True):
        try:
            t = p.cpu_times()
            out[p.pid] = (group(" ".join(p.cmdline())), t.user + t.system, _waited_s(p.pid))
        except (psutil.Error, OSError):  # it ended between the listing and the read
            continue
    return out


def measure(url: str, model: str, args) -> dict:
    """One window of load on a running server: its figures and the per-group CPU."""
    me = psutil.Process()
    chat = url + "/v1/chat/completions"
    asyncio.run(chat_level(chat, model, args.concurrency, args.concurrency, args.max_tokens))
    before, mine_before, began = snapshot(me), me.cpu_times(), time.monotonic()
    r = asyncio.run(chat_level(chat, model, args.concurrency, args.requests, args.max_tokens))
    after, mine_after, wall = snapshot(me), me.cpu_times(), time.monotonic() - began
    groups: dict[str, list[float]] = {}
    for pid, (name, cpu, waited) in after.items():
        if pid in before:
            for key in (name, OTHER) if name.startswith(OTHER + ":") else (name,):
                g = groups.setdefault(key, [0.0, 0.0])
                g[0] += cpu - before[pid][1]
                g[1] += waited - before[pid][2]
    groups["load generator (this process)"] = [
        mine_after.user + mine_after.system - mine_before.user - mine_before.system, 0.0]
    tokens = r["completion_tokens"]
    return {"tok_s": round(r["tok_s"], 1), "ttft_p50_s": round(r["ttft_p50_s"], 3),
            "tokens": tokens, "wall_s": round(wall, 2),
            "groups": {k: {"ms_per_token": round(1000 * cpu / tokens, 3),
                           "cores": round(cpu / wall, 3), "waited_s": round(waited, 2)}
                       for k, (cpu, waited) in sorted(groups.items(), key=lambda kv: -kv[1][0])}}


def markdown(results: dict[str, dict]) -> str:
    """Per server: tokens/s and TTFT, then CPU ms per token by group; the path's total."""
    out = []
    for name, r in results.items():
        g = r["groups"]
        path = sum(v["ms_per_token"] for k, v in g.items()
                   if k not in ("vLLM engine core", "load generator (this process)")
                   and not k.startswith(OTHER + ":"))  # counted in OTHER
        out += [f"**{name}**: {r['tok_s']} tokens/s, TTFT p50 {r['ttft_p50_s']} s; the path "
                f"(all but the engine core and the load generator) {path:.2f} ms of CPU a token",
                "", "| process | CPU ms / token | cores | s waiting for a core |",
                "|---|---|---|---|"]
        out += [f"| {k} | {v['ms_per_token']:.2f} | {v['cores']:.2f} | {v['waited_s']:.1f} |"
                for k, v in g.items() if v["ms_per_token"] >= 0.01]
        out.append("")
    return "\n".join(out)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--servers", default="bare-vllm,triserve-vllm",
                    help=f"some of: {', '.join(SERVERS)}")
    ap.add_argument("--concurrency", type=int, default=8)
    ap.add_argument("--requests", type=int, default=64, help="measured requests")
    ap.add_argument("--max-tokens", type=int, default=64)
    ap.add_argument("--dtype", default="bfloat16", choices=["bfloat16", "float32"])
    ap.add_argument("--kv-cache-gib", type=int, default=2)
    ap.add_argument("--vllm-env", action="append", metavar="KEY=VALUE")
    ap.add_argument("--chunk-intervals", default=None, metavar="MS,MS",
                    help="run each triserve server once per chunk_interval_ms of its role")
    ap.add_argument("--workdir", default=None)
    add_server_options(ap)
    args = ap.parse_args()
    servers, workdir = servers_and_workdir(ap, args, SERVERS, "path-cpu-")
    converted_smollm2()  # convert once, before a server races to
    intervals = chunk_intervals(args)
    print(f"# {machine()}", flush=True)
    results = {}
    for server in servers:
        for ms in intervals if server.startswith("triserve") else [None]:
            args.chunk_interval_ms = ms
            name = server if ms is None or args.chunk_intervals is None else f"{server}, {ms:g} ms"
            where = Path(workdir) / name.replace(", ", "-").replace(" ", "")
            where.mkdir(parents=True, exist_ok=True)
            with reaped(server), start(server, args, where) as (url, model):
                results[name] = measure(url, model, args)
            print(name, results[name], flush=True)
    report("path_cpu", [{"server": k, "tok_s": v["tok_s"], "ttft_p50_s": v["ttft_p50_s"]}
                        for k, v in results.items()], {"results": results})
    print()
    print(markdown(results))


if __name__ == "__main__":
    main()
