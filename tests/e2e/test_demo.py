"""The README's demo, as a new user runs it: `serve run deployments/demo.yaml` (our engine), then
curl and the openai SDK. (`deployments/demo-vllm.yaml`'s roles run in the session's Serve:
tests/server/test_demo_vllm_role.py says why not whole.)

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

# Servers of its own, with the memory they need: the shared ones are stopped first (conftest).
pytestmark = pytest.mark.big_servers

ROOT = Path(__file__).resolve().parents[2]


# The README uses port 8000; a test takes a free port. The first start dequantises the GGUF
# files (Gemma about 45 s) while three replicas import torch, transformers and vLLM's tool parser:
# 200 s in a fresh clone's suite on 2 cores. Stopping takes up to a minute more (serve_run's
# SIGTERM grace).
DEMO_START_S = 600.0
start_budget("demo", DEMO_START_S + 60)


LOGS: dict[str, Path] = {}  # a demo's URL → its serve run's log


@pytest.fixture(scope="module", params=["demo.yaml"])
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
    assert "HAProxy is enabled in ServeController" in log  # ... and HAProxy on the demo's port
    assert "HAProxy started successfully" in log


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


def test_the_openai_sdk_reaches_tools_scoring_efforts_and_models_on_the_demo(demo):
    """What evaluation and agent tools send, on the real models: `tools` (the demos read tool
    calls), a forced call, the prompt scored (`echo`, `logprobs`, `max_tokens: 0`, as
    lm-evaluation-harness asks), every `reasoning_effort` level, and `models.retrieve`."""
    from openai import OpenAI

    client = OpenAI(base_url=f"{demo}/v1", api_key="unused", max_retries=0, timeout=300)
    weather = {"type": "function", "function": {"name": "get_weather", "parameters": {
        "type": "object", "properties": {"unit": {"enum": ["celsius", "fahrenheit"]}},
        "required": ["unit"], "additionalProperties": False}}}
    ask = [{"role": "user", "content": "What is the weather in Paris?"}]
    auto = client.chat.completions.create(model="instruct", messages=ask, tools=[weather],
                                          max_tokens=16, temperature=0)
    assert auto.choices[0].finish_reason in ("stop", "length", "tool_calls")
    forced = client.chat.completions.create(
        model="instruct", messages=ask, tools=[weather], max_tokens=24, temperature=0,
        tool_choice={"type": "function", "function": {"name": "get_weather"}})
    [call] = forced.choices[0].message.tool_calls
    assert json.loads(call.function.arguments)["unit"] in ("celsius", "fahrenheit")
    required = client.chat.completions.create(model="reasoning", messages=ask, tools=[weather],
                                              max_tokens=32, temperature=0, tool_choice="required")
    assert [c.function.name for c in required.choices[0].message.tool_calls][:1] == ["get_weather"]
    history = ask + [forced.choices[0].message.model_dump(exclude_none=True),
                     {"role": "tool", "tool_call_id": call.id, "content": "20 degrees, sunny"}]
    answer = client.chat.completions.create(model="instruct", messages=history, max_tokens=8)
    assert answer.choices[0].message.content
    one, two = (client.chat.completions.create(model="instruct", messages=ask, max_tokens=4, n=n,
                                               temperature=0).usage for n in (1, 2))
    assert two.prompt_tokens == one.prompt_tokens and two.completion_tokens == 2 * 4
    scored = client.completions.create(model="base", prompt="The capital of France is Paris",
                                       max_tokens=0, echo=True, logprobs=1)
    lp = scored.choices[0].logprobs
    assert lp.token_logprobs[0] is None and len(lp.tokens) == scored.usage.prompt_tokens > 3
    assert all(v <= 0 for v in lp.token_logprobs[1:])
    for effort in ("none", "minimal", "low", "medium", "high", "xhigh", "max"):
        r = client.chat.completions.create(model="reasoning", messages=ask, max_tokens=4,
                                           reasoning_effort=effort)
        assert r.choices[0].finish_reason in ("stop", "length")
    assert client.models.retrieve("SmolLM2-135M-Instruct").model_extra["role"] == "instruct"


def test_each_role_answers_at_its_own_endpoint_as_through_the_ingress(demo):
    """The demo serves every role as an application of its own too (`role_apps`): the openai
    SDK at /roles/<role>/v1 gets the answer it gets at /v1, from the replica directly."""
    from openai import OpenAI

    def clients(role: str) -> tuple[OpenAI, OpenAI]:
        return tuple(OpenAI(base_url=f"{demo}{prefix}/v1", api_key="unused", max_retries=0,
                            timeout=300) for prefix in (f"/roles/{role}", ""))

    direct, via = clients("base")  # the base model continues raw text: /v1/completions
    assert [m.id for m in direct.models.list()] == ["base"]
    a, b = (c.completions.create(model="base", prompt="The sky is", max_tokens=8, temperature=0)
            for c in (direct, via))
    assert a.choices[0].text == b.choices[0].text
    ask = [{"role": "user", "content": "Name a colour."}]
    for role in ("instruct", "reasoning"):
        direct, via = clients(role)
        a, b = (c.chat.completions.create(model=role, messages=ask, max_tokens=8, temperature=0)
                for c in (direct, via))
        assert a.choices[0].message.content and (
            a.choices[0].message.content == b.choices[0].message.content)
        deltas = [ch.choices[0].delta.content for ch in direct.chat.completions.create(
            model=role, messages=ask, max_tokens=8, temperature=0, stream=True) if ch.choices]
        assert "".join(d or "" for d in deltas) == a.choices[0].message.content
