"""Load sweep of the CPU demo graph with `triserve bench`: the table and plot of RESULTS.md.

    .venv/bin/python benchmarks/load_sweep.py                      # compare, users 1,2,4,8
    .venv/bin/python benchmarks/load_sweep.py --endpoint chat --levels 1,4,16 --duration 30

It serves a copy of deployments/demo.yaml on a free port (`serve run` in a Ray of its own:
RAY_ADDRESS=local, token auth as everywhere in this project), waits until /healthz answers 200,
runs `triserve bench --sweep` against it, stops the server (SIGTERM to its process group, then
SIGKILL), and writes benchmarks/results/load_sweep[-NAME].{json,png} with the machine's load
before and after, plus a Markdown table on stdout for RESULTS.md.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import subprocess
import sys
import time
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path

import httpx
import yaml

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
ENV = {**os.environ, "RAY_ADDRESS": "local", "RAY_AUTH_MODE": "token",
       "TOKENIZERS_PARALLELISM": "false"}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def load_now() -> dict:
    one, five, _ = os.getloadavg()
    return {"time": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
            "loadavg_1m": round(one, 2), "loadavg_5m": round(five, 2), "cores": os.cpu_count()}


@contextmanager
def demo_server(workdir: Path, start_timeout_s: float = 600):
    port = free_port()
    doc = yaml.safe_load((ROOT / "deployments/demo.yaml").read_text())
    doc["http_options"]["port"] = port
    config = workdir / "demo.yaml"
    config.write_text(yaml.safe_dump(doc, allow_unicode=True))
    log_path = workdir / "serve.log"
    with open(log_path, "w") as log:
        proc = subprocess.Popen([BIN / "serve", "run", str(config)], cwd=ROOT, env=ENV,
                                stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        url = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + start_timeout_s
            while True:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("the demo did not start:\n" + log_path.read_text()[-3000:])
                try:
                    if httpx.get(f"{url}/healthz", timeout=5).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                time.sleep(2)
            yield url
        finally:
            # `serve run` ignores SIGINT when not on a terminal; its Ray lives in its group.
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()


def markdown(doc: dict) -> str:
    head = ("| users | done | 503 | errors | req/s | output tok/s | TTFT p50 / p90 / p99 (s) "
            "| TPOT p50 / p99 (ms) | E2E p50 / p90 / p99 (s) |")
    rows = [head, "|" + "---|" * 9]
    for lv in doc["levels"]:
        r, t, p, e = lv["requests"], lv["ttft_s"], lv["tpot_s"], lv["e2e_s"]
        sec = lambda d, ks: " / ".join("–" if d[k] is None else f"{d[k]:.2f}" for k in ks)
        ms = lambda d, ks: " / ".join("–" if d[k] is None else f"{d[k] * 1000:.0f}" for k in ks)
        rows.append(f"| {lv['level']:g} | {r['completed']} | {r['rejected_503']} | {r['failed']} "
                    f"| {lv['request_throughput']:.2f} | {lv['output_throughput']:.1f} "
                    f"| {sec(t, ('p50', 'p90', 'p99'))} | {ms(p, ('p50', 'p99'))} "
                    f"| {sec(e, ('p50', 'p90', 'p99'))} |")
    return "\n".join(rows)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--endpoint", default="compare", choices=["compare", "chat", "completions"])
    ap.add_argument("--levels", default="1,2,4,8", help="concurrent users, comma-separated")
    ap.add_argument("--duration", type=float, default=90, help="measured seconds per level")
    ap.add_argument("--warmup", type=float, default=5)
    ap.add_argument("--max-new-tokens", type=int, default=32)
    ap.add_argument("--name", default="", help="suffix of the result files")
    args = ap.parse_args()

    out = ROOT / "benchmarks" / "results"
    out.mkdir(parents=True, exist_ok=True)
    stem = "load_sweep" + (f"-{args.name}" if args.name else "")
    json_path, png_path = out / f"{stem}.json", out / f"{stem}.png"
    workdir = Path(os.environ.get("TMPDIR", "/tmp")) / f"triserve-{stem}-{os.getpid()}"
    workdir.mkdir(parents=True, exist_ok=True)

    before = load_now()
    with demo_server(workdir) as url:
        cmd = [sys.executable, "-m", "clients.cli", "--url", url, "--max-retries", "0", "bench",
               "-e", args.endpoint, "--sweep", args.levels, "-d", str(args.duration),
               "--warmup", str(args.warmup), "-m", str(args.max_new_tokens),
               "--json-out", str(json_path), "--plot", str(png_path)]
        subprocess.run(cmd, cwd=ROOT, env=ENV, check=True)
    after = load_now()

    doc = json.loads(json_path.read_text())
    doc["machine"] = {"before": before, "after": after,
                      "note": "a shared 2-core machine: other sessions' work ran alongside"}
    doc["server"] = "deployments/demo.yaml (serve run, own Ray, free port)"
    json_path.write_text(json.dumps(doc, indent=1, ensure_ascii=False))
    print(f"\nload average (1 min) before {before['loadavg_1m']}, after {after['loadavg_1m']} "
          f"on {before['cores']} cores\n")
    print(markdown(doc))


if __name__ == "__main__":
    main()
