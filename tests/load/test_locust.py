"""The Locust file, run headless for a few seconds against the tiny graph, fails nothing.

Locust runs in a subprocess: it monkey-patches the standard library with gevent, which must not
happen inside the pytest process that drives Ray.
"""

from __future__ import annotations

import csv
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_locust_headless_compare_and_chat_with_ttft(tiny_app, tmp_path):
    prompts = tmp_path / "prompts.txt"  # short: the tiny models accept 256 tokens
    prompts.write_text("Is 9.11 bigger than 9.8?\nName three fruits.\nOnce upon a time\n")
    cmd = [sys.executable, "-m", "locust", "-f", str(ROOT / "clients" / "bench" / "locustfile.py"),
           "--headless", "--host", tiny_app, "-u", "3", "-r", "3", "-t", "6s",
           "--stop-timeout", "30", "--only-summary", "--csv", str(tmp_path / "run"),
           "--prompts", str(prompts), "--max-new-tokens", "8", "--chat-role", "reasoning"]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=180)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]

    with open(tmp_path / "run_stats.csv", newline="") as f:
        rows = {(r["Type"], r["Name"]): r for r in csv.DictReader(f)}
    for key in (("POST", "/v1/compare"), ("POST", "/v1/chat/completions"),
                ("TTFT", "/v1/compare"), ("TTFT", "chat reasoning"),
                ("E2E", "/v1/compare"), ("E2E", "chat reasoning")):
        assert int(rows[key]["Request Count"]) > 0, (key, rows.keys())
    assert all(int(r["Failure Count"]) == 0 for r in rows.values())
    for name in ("/v1/compare", "chat reasoning"):  # the first token comes before the last
        ttft = float(rows[("TTFT", name)]["Average Response Time"])
        e2e = float(rows[("E2E", name)]["Average Response Time"])
        assert 0 < ttft <= e2e
