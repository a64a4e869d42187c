"""The serving path's CPU per request, by the way a client reaches the ingress: through Ray
Serve's HTTP proxy (what `serve run`'s port is), straight to the ingress replica's own port
(direct ingress, which deployments/ray.env turns on), or through HAProxy
(`RAY_SERVE_ENABLE_HA_PROXY=1`, which forwards the main port to the ingress replicas' ports;
deployments/ray.env turns it on, and `--via proxy` and `--via direct` turn it off); or, `--via
role`, through HAProxy to the role's own endpoint (`role_apps`: the model replica answers HTTP
itself, no ingress on the path).

    .venv/bin/python benchmarks/request_path.py
    .venv/bin/python benchmarks/request_path.py --via proxy,direct --concurrency 16 --seconds 20

One role on the scripted engine answering at once (three tokens, no model: what is measured is
the path, not an engine), in a Ray and Serve of its own per `--via` with deployments/ray.env in
force, `--concurrency` closed-loop clients streaming chat completions. While they run, each of
the proxy, the ingress replica and the model replica is sampled: CPU seconds (psutil) divided by
the requests answered in the same window give milliseconds of CPU per request, and py-spy
(`--nonblocking`, 100 Hz) gives the functions on top of each process's busy samples (the
`profile_path.py` tables). Printed per `--via`: requests/s, then per process its share of a core,
its CPU ms per request and its top functions.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(Path(__file__).parent)]

VIAS = ("proxy", "direct", "haproxy", "role")
INSTANT = {"model": {"source": "local", "path": "/nonexistent"}, "engine": "scripted",
           "served_model_name": "scripted",
           "scripted": {"tokens": ["Hello", " there", "."], "prefill_s": 0.0, "token_s": 0.0}}
BODY = {"model": "instruct", "messages": [{"role": "user", "content": "hi"}], "stream": True}
# profile_path.processes' names (a replica by its deployment) → the names printed here.
PROCESSES = {"proxy": "proxy", "Ingress": "ingress", "Instruct": "replica", "haproxy": "haproxy"}
NATIVE = {"haproxy"}  # not Python: its CPU is counted, py-spy cannot read it


def direct_port(ingress_pid: int) -> int:
    """The ingress replica's own HTTP port (Ray gives direct ingress 30000 and up)."""
    import psutil

    ports = sorted(c.laddr.port for c in psutil.Process(ingress_pid).net_connections()
                   if c.status == "LISTEN" and 30000 <= c.laddr.port < 31000)
    if not ports:
        raise RuntimeError("the ingress replica listens on no direct-ingress port")
    return ports[0]


async def one(client, url: str) -> None:
    async with client.stream("POST", url, json=BODY) as r:
        if r.status_code != 200:
            raise RuntimeError(f"{r.status_code}: {(await r.aread())[:200]!r}")
        async for _ in r.aiter_bytes():
            pass


async def load(url: str, concurrency: int, seconds: float, counts: list[float]) -> None:
    """Closed-loop streams for `seconds`; appends the time of each answered request."""
    from common import http_client

    async with http_client() as client:
        for _ in range(20):
            await one(client, url)
        end = time.perf_counter() + seconds

        async def worker():
            while time.perf_counter() < end:
                await one(client, url)
                counts.append(time.perf_counter())

        await asyncio.gather(*(worker() for _ in range(concurrency)))


def measure(via: str, concurrency: int, seconds: int, workdir: Path) -> dict:
    """One `via`, in this process's own Ray (the caller runs each in a fresh process)."""
    import psutil

    from clients.cluster.ray_env import ray_env
    from common import LocalServe
    from profile_path import processes, record, tables

    for key, value in ray_env().items():
        os.environ.setdefault(key, value)
    os.environ["RAY_SERVE_ENABLE_HA_PROXY"] = "1" if via in ("haproxy", "role") else "0"
    with LocalServe() as local:
        url = local.deploy("path", {"roles": {"instruct": INSTANT}},
                           role="instruct" if via == "role" else None) + "/v1/chat/completions"
        def pids() -> dict[str, int]:  # this process's Ray: its own processes, no one else's
            found = processes(psutil.Process())
            return {shown: found[name] for name, shown in PROCESSES.items() if name in found}

        if via == "direct":
            url = f"http://127.0.0.1:{direct_port(pids()['ingress'])}/path/v1/chat/completions"
        counts: list[float] = []

        async def run() -> tuple[dict, dict, float, float]:
            task = asyncio.create_task(load(url, concurrency, seconds + 8, counts))
            await asyncio.sleep(4)  # past the warm-up (Serve may restart HAProxy before it)
            procs = pids()
            spies = {n: record(pid, workdir / f"{via}-{n}.txt", seconds, 100)
                     for n, pid in procs.items() if n not in NATIVE}
            t0, before = time.perf_counter(), {n: psutil.Process(p).cpu_times()
                                               for n, p in procs.items()}
            await asyncio.sleep(seconds)
            t1, after = time.perf_counter(), {n: psutil.Process(p).cpu_times()
                                              for n, p in procs.items()}
            await task
            for spy in spies.values():
                spy.wait()
            return before, after, t0, t1

        before, after, t0, t1 = asyncio.run(run())
    answered = sum(t0 <= t < t1 for t in counts)
    row = {"via": via, "concurrency": concurrency, "req_s": round(answered / (t1 - t0), 1),
           "processes": {}}
    for name in before:
        used = sum(after[name][:2]) - sum(before[name][:2])
        stacks = workdir / f"{via}-{name}.txt"
        selfs = tables(stacks, 8)[1] if stacks.exists() else []
        row["processes"][name] = {"core_pct": round(100 * used / (t1 - t0)),
                                  "cpu_ms_per_request": round(1000 * used / max(answered, 1), 2),
                                  "top_self": [[f, round(p, 1)] for f, p in selfs]}
    return row


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--via", default=",".join(VIAS), help=f"comma-separated, of {VIAS}")
    ap.add_argument("--concurrency", type=int, default=16)
    ap.add_argument("--seconds", type=int, default=20, help="how long each process is sampled")
    ap.add_argument("--one", help=argparse.SUPPRESS)  # run one via here (the parent's child)
    ap.add_argument("--workdir", default=None, help="where py-spy's raw stacks are kept")
    args = ap.parse_args()
    workdir = Path(args.workdir or tempfile.mkdtemp(prefix="request_path-"))
    workdir.mkdir(parents=True, exist_ok=True)
    if args.one:
        print("ROW " + json.dumps(measure(args.one, args.concurrency, args.seconds, workdir)))
        return
    from common import report

    rows = []
    for via in args.via.split(","):
        out = subprocess.run([sys.executable, __file__, "--one", via, "--concurrency",
                              str(args.concurrency), "--seconds", str(args.seconds),
                              "--workdir", str(workdir)], capture_output=True, text=True)
        line = next((x for x in out.stdout.splitlines() if x.startswith("ROW ")), None)
        if line is None:
            print(f"{via}: failed\n{out.stderr[-2000:]}", flush=True)
            continue
        row = json.loads(line[4:])
        rows.append(row)
        print(f"{via}: {row['req_s']} requests/s at {args.concurrency} streams", flush=True)
        for name, p in row["processes"].items():
            print(f"  {name}: {p['core_pct']}% of a core, {p['cpu_ms_per_request']} ms CPU a "
                  "request; top: " + "; ".join(f"{f} {v}%" for f, v in p["top_self"][:4]),
                  flush=True)
    report("the serving path's CPU per request, by way in", [
        {"via": r["via"], "req_s": r["req_s"],
         **{f"{n}_ms": p["cpu_ms_per_request"] for n, p in r["processes"].items()}}
        for r in rows], {"setting": vars(args)})


if __name__ == "__main__":
    main()
