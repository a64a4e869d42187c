"""Load sweep of the CPU demo graph with `triserve bench`: the table and plot of RESULTS.md.

    .venv/bin/python benchmarks/load_sweep.py                      # compare, users 1,2,4,8
    .venv/bin/python benchmarks/load_sweep.py --endpoint chat --levels 1,4,16 --duration 30

It serves a copy of deployments/demo.yaml on a free port (clients/cluster/serve_process.py: `serve run`
in a Ray of its own, waited for until /healthz answers 200, stopped by its process group), runs
`triserve bench --sweep` against it, and writes benchmarks/results/load_sweep[-NAME].{json,png} with the machine's load
before and after, plus a Markdown table on stdout for RESULTS.md.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from clients.cluster.serve_process import SERVE_ENV, serve_run  # noqa: E402


def load_now() -> dict:
    one, five, _ = os.getloadavg()
    return {"time": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
            "loadavg_1m": round(one, 2), "loadavg_5m": round(five, 2), "cores": os.cpu_count()}


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
    with serve_run(ROOT / "deployments/demo.yaml", workdir) as url:
        cmd = [sys.executable, "-m", "clients.cli", "--url", url, "--max-retries", "0", "bench",
               "-e", args.endpoint, "--sweep", args.levels, "-d", str(args.duration),
               "--warmup", str(args.warmup), "-m", str(args.max_new_tokens),
               "--json-out", str(json_path), "--plot", str(png_path)]
        subprocess.run(cmd, cwd=ROOT, env={**os.environ, **SERVE_ENV}, check=True)
    after = load_now()

    doc = json.loads(json_path.read_text())
    doc["machine"] = {"before": before, "after": after}
    doc["server"] = "deployments/demo.yaml (serve run, own Ray, free port)"
    json_path.write_text(json.dumps(doc, indent=1, ensure_ascii=False))
    print(f"\nload average (1 min) before {before['loadavg_1m']}, after {after['loadavg_1m']} "
          f"on {before['cores']} cores\n")
    print(markdown(doc))


if __name__ == "__main__":
    main()
