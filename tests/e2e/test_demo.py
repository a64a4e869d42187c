"""The README's demos, as a new user runs them: `serve run deployments/demo.yaml` (our engine) and
`deployments/demo-vllm.yaml` (every role on vLLM), then curl.

Real small models from PyPI wheels (Gemma 3 270M, pretrained, as base; SmolLM2-135M-Instruct as
instruct and reasoning), in a `serve run` process of its own (clients/cluster/serve_process.py), stopped
with SIGTERM to its group.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import httpx
import pytest

from budgets import start_budget
from clients.cluster.serve_process import serve_run

ROOT = Path(__file__).resolve().parents[2]


# The README uses port 8000; a test takes a free port. The first start dequantises the GGUF
# files (Gemma about 45 s); vLLM engines start in one to three minutes each on 2 busy cores, and
# three start at once. Stopping takes up to a minute more (serve_run's SIGTERM grace).
DEMO_START_S = 900.0
start_budget("demo", DEMO_START_S + 60)


LOGS: dict[str, Path] = {}  # a demo's URL → its serve run's log


@pytest.fixture(scope="module", params=["demo.yaml", "demo-vllm.yaml"])
def demo(request, tmp_path_factory):
    workdir = tmp_path_factory.mktemp("demo")
    with serve_run(ROOT / "deployments" / request.param, workdir,
                   start_timeout_s=DEMO_START_S) as url:
        LOGS[url] = workdir / "serve.log"
        yield url


def test_the_demo_runs_on_ray_serves_fast_paths(demo):
    """deployments/ray.env reached Ray's processes: Serve's controller says which fast paths it
    runs (Ray logs this at start), and the demo answered through them (the fixture's /healthz)."""
    log = LOGS[demo].read_text(errors="replace")
    assert "Throughput optimized Ray Serve enabled" in log
    assert "Direct ingress enabled" in log
    assert "User code running in main thread" in log
    assert "gRPC communication enabled" not in log  # deployments/ray.env turns it off


def test_readme_curl_compares_three_roles_on_the_real_model(demo):
    out = subprocess.run(
        ["curl", "-s", f"{demo}/v1/compare", "-H", "content-type: application/json",
         "-d", '{"prompt":"9.11和9.8哪个更大？"}'],
        capture_output=True, text=True, timeout=300, check=True,
    )
    body = json.loads(out.stdout)
    results = {r["role"]: r for r in body["results"]}
    assert set(results) == {"base", "instruct", "reasoning"}
    for r in results.values():
        assert r["error"] is None, r
        assert r["response"].strip() and r["usage"]["completion_tokens"] > 0
        assert r["usage"]["prompt_tokens"] > 0 and r["latency_s"] > 0 and r["ttft_s"] > 0
    assert results["base"]["model"] == "gemma-3-270m"


def test_the_base_model_continues_the_prompt(demo):
    # Greedy, the pretrained Gemma runs on from the question instead of answering it (as the
    # study's base model did): its text carries the question's numbers on.
    body = {"model": "base", "prompt": "9.11和9.8哪个更大？", "temperature": 0, "max_tokens": 32}
    r = httpx.post(f"{demo}/v1/completions", json=body, timeout=120)
    assert r.status_code == 200
    text = r.json()["choices"][0]["text"]
    assert "9." in text, text


def test_real_model_greedy_answer_is_english_text(demo):
    body = {"model": "instruct", "messages": [{"role": "user", "content": "What is the capital of France?"}],
            "temperature": 0, "max_tokens": 24}
    r = httpx.post(f"{demo}/v1/chat/completions", json=body, timeout=120)
    assert r.status_code == 200
    assert "Paris" in r.json()["choices"][0]["message"]["content"]
