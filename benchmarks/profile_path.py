"""Where the serving path spends its CPU under load: py-spy on every process of a triserve vLLM
role (the ingress replica, the model replica, Serve's proxy, vLLM's engine core) while
`--concurrency` closed-loop clients stream chat completions.

    .venv/bin/uv pip install --python .venv/bin/python -e '.[profile]'    # py-spy
    .venv/bin/python benchmarks/profile_path.py --dtype float32 --concurrency 8 --seconds 30
    .venv/bin/python benchmarks/profile_path.py --engine hf     # our loop instead of vLLM

The server is started as benchmarks/servers.py's triserve-vllm (or triserve-hf); `--serve-env
KEY=VALUE` adds to `serve run`'s environment (e.g. RAY_SERVE_THROUGHPUT_OPTIMIZED=1). py-spy
samples each process at `--rate` Hz (`--nonblocking`: it does not stop the process it reads)
for `--seconds` while the load runs. Printed per process: its share of the samples, then the
functions with the most samples on top of the stack (self) and anywhere on it (total), as
percentages of that process's samples, idle frames (the event loop's select, threads waiting
on a lock or a queue) left out of both; the raw folded stacks are kept in `--workdir`.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import contextlib
import os
import shutil
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

import psutil

from common import chat_level, machine, smollm2_role, vllm_role
from processes import env_pairs, reaped, triserve

# Frames that mean "waiting", not working: left out of the tables.
IDLE = ("select (selectors.py", "_run_once (asyncio/base_events.py", "wait (threading.py",
        "poll (selectors.py", "epoll", "_worker (concurrent/futures/thread.py", "get (queue.py",
        "sleep", "recv_multipart", "poll (zmq", "_poll", "wait (", "main_loop (ray/_private/",
        "run_forever", "run_until_complete")


def processes(me: psutil.Process) -> dict[str, int]:
    """The processes to profile, by name: Serve's replicas (`ray::ServeReplica:app:Name`), its
    proxy, HAProxy where Serve runs it, and vLLM's engine core, among `me`'s descendants."""
    found = {}
    for p in me.children(recursive=True):
        with contextlib.suppress(psutil.Error):
            title = " ".join(p.cmdline())
            if title.startswith("ray::ServeReplica"):
                # busy, Ray adds the running method: `...:Name.handle_request_with_rejection`
                found[title.split(":")[-1].split()[0].split(".")[0]] = p.pid
            elif title.startswith("ray::ProxyActor"):
                found["proxy"] = p.pid
            elif "haproxy -db -f" in title:  # RAY_SERVE_ENABLE_HA_PROXY=1
                found["haproxy"] = p.pid
            elif "EngineCore" in title or p.name().startswith("VLLM::EngineCor"):
                found["engine core"] = p.pid
    return found


def record(pid: int, out: Path, seconds: int, rate: int) -> subprocess.Popen:
    spy = shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy"))
    return subprocess.Popen([spy, "record", "--pid", str(pid), "--duration", str(seconds),
                             "--rate", str(rate), "--nonblocking", "--format", "raw",
                             "--output", str(out)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)


def _idle(frame: str) -> bool:
    return any(mark in frame for mark in IDLE)


def tables(folded: Path, top: int) -> tuple[int, list[tuple[str, float]], list[tuple[str, float]]]:
    """(busy samples, [(function, % self)], [(function, % total)]) of one py-spy raw file: each
    line `frame;frame;...;frame count`, the innermost frame last."""
    self_n: collections.Counter = collections.Counter()
    total_n: collections.Counter = collections.Counter()
    busy = 0
    for line in folded.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        frames = stack.split(";")
        if not count.isdigit() or not frames or _idle(frames[-1]):  # a line cut short
            continue
        n = int(count)
        busy += n
        self_n[frames[-1]] += n
        for f in set(frames):
            total_n[f] += n
    pct = lambda c: [(f, 100 * n / max(busy, 1)) for f, n in c.most_common(top)]  # noqa: E731
    return busy, pct(self_n), pct(total_n)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--engine", default="vllm", choices=["vllm", "hf"])
    ap.add_argument("--dtype", default="float32", choices=["bfloat16", "float32"])
    ap.add_argument("--concurrency", type=int, default=8)
    ap.add_argument("--seconds", type=int, default=30, help="how long py-spy samples")
    ap.add_argument("--rate", type=int, default=50, help="py-spy samples per second")
    ap.add_argument("--max-tokens", type=int, default=64)
    ap.add_argument("--top", type=int, default=15)
    ap.add_argument("--serve-env", action="append", metavar="KEY=VALUE",
                    help="more environment for serve run (Ray reads it at each process start)")
    ap.add_argument("--engine-threads", type=int, default=2,
                    help="the engine's OpenMP threads (the role's torch_threads)")
    ap.add_argument("--vllm-env", action="append", metavar="KEY=VALUE",
                    help="more environment for the vLLM engine (the role's vllm.env), e.g. "
                    "VLLM_ENABLE_V1_MULTIPROCESSING=0")
    ap.add_argument("--workdir", default=None)
    args = ap.parse_args()
    workdir = Path(args.workdir or tempfile.mkdtemp(prefix="profile-"))
    workdir.mkdir(parents=True, exist_ok=True)
    print(f"# workdir {workdir}\n# {machine()}", flush=True)
    os.environ.update(env_pairs(args.serve_env))
    threads = args.engine_threads
    role = (vllm_role(args.dtype, args.max_tokens, threads=threads,
                      env=env_pairs(args.vllm_env)) if args.engine == "vllm" else
            smollm2_role(args.max_tokens, threads=threads, max_batch_size=16, dtype=args.dtype))
    with reaped("profile"), triserve(f"profile-{args.engine}", {"instruct": role},
                                     workdir / "server") as url:
        pids = processes(psutil.Process())
        print(f"# profiling {pids}", flush=True)
        # The load runs in a thread for longer than py-spy samples; py-spy starts after a
        # warm-up, so that every sample is under full load.
        stop = threading.Event()

        def load() -> None:
            while not stop.is_set():
                asyncio.run(chat_level(url + "/v1/chat/completions", "instruct",
                                       args.concurrency, args.concurrency * 4, args.max_tokens))

        loader = threading.Thread(target=load, daemon=True)
        loader.start()
        asyncio.run(asyncio.sleep(5))
        spies = {name: record(pid, workdir / f"{name.replace(' ', '-')}.txt", args.seconds,
                              args.rate) for name, pid in pids.items()}
        for name, spy in spies.items():
            _, err = spy.communicate()
            if spy.returncode:
                print(f"# py-spy on {name} failed: {err[-500:]}", flush=True)
        stop.set()
        loader.join()
    for name in pids:
        path = workdir / f"{name.replace(' ', '-')}.txt"
        if not path.exists():
            continue
        busy, self_pct, total_pct = tables(path, args.top)
        print(f"\n## {name}: {busy} busy samples in {args.seconds} s at {args.rate} Hz "
              f"({busy / (args.seconds * args.rate):.0%} of one core, idle frames left out)\n")
        print("| self % | function |\n|---|---|")
        for f, p in self_pct:
            print(f"| {p:.1f} | `{f}` |")
        print("\n| total % | function |\n|---|---|")
        for f, p in total_pct:
            print(f"| {p:.1f} | `{f}` |")


if __name__ == "__main__":
    main()
