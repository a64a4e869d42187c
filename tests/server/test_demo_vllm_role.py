"""The vLLM demo's instruct role on its real model (deployments/demo-vllm.yaml): SmolLM2-135M-
Instruct exactly as the file declares it (GGUF dequantised to a safetensors copy, its engine
arguments, its `vllm.env`), deployed in the session's Serve, and asked what the README and the
openai SDK ask.

The whole `serve run deployments/demo-vllm.yaml` (three vLLM engines and a Ray of its own) took
about four minutes of CI's forty on 2 cores, and its base role alone (Gemma 3 270M) two of them.
tests/e2e runs `make demo`'s graph whole on the same models; the tiny `mixed` app runs vLLM roles
through every route, reasoning and prompt scoring included. The demo's reasoning role is this
role's model and engine with `reasoning: true`.
"""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import psutil
import pytest
import yaml

from budgets import VLLM_START_S, start_budget
from serving import deploy

ROOT = Path(__file__).resolve().parents[2]
ROLES = ("instruct",)
# One vLLM engine; the first start may dequantise the GGUF file too, where tests/e2e's demo has
# not left the copy.
START_S = start_budget("demo_vllm", VLLM_START_S + 60)
# The role's torch_threads here (the file leaves it to Ray: 1).
THREADS = 2


@pytest.fixture(scope="module")
def demo_vllm(serve_instance):
    doc = yaml.safe_load((ROOT / "deployments" / "demo-vllm.yaml").read_text())
    app = doc["applications"][0]  # the comparing app; its roles here as deployments of it
    roles = {role: {**app["args"]["roles"][role], "torch_threads": THREADS} for role in ROLES}
    args = {**app["args"], "roles": roles, "role_apps": False}
    url = deploy("demovllm", args, serve_instance, timeout_s=START_S)
    yield url
    from ray import serve

    serve.delete("demovllm", _blocking=False)


def test_the_vllm_demo_instruct_role_answers_the_readme_question(demo_vllm):
    r = httpx.post(f"{demo_vllm}/v1/compare", json={"prompt": "9.11和9.8哪个更大？"},
                   timeout=300)
    assert r.status_code == 200, r.text
    results = {x["role"]: x for x in r.json()["results"]}
    assert set(results) == set(ROLES)
    for x in results.values():
        assert x["error"] is None, x
        assert x["response"].strip() and x["usage"]["completion_tokens"] > 0
    assert results["instruct"]["model"] == "SmolLM2-135M-Instruct"


def test_the_vllm_demo_instruct_role_through_the_openai_sdk(demo_vllm):
    """A greedy answer, and a forced tool call (vLLM's guided decoding on the real model, read by
    vLLM's hermes parser)."""
    from openai import OpenAI

    client = OpenAI(base_url=f"{demo_vllm}/v1", api_key="unused", max_retries=0, timeout=300)
    paris = client.chat.completions.create(
        model="instruct", messages=[{"role": "user", "content": "What is the capital of France?"}],
        temperature=0, max_tokens=24)
    assert "Paris" in paris.choices[0].message.content
    weather = {"type": "function", "function": {"name": "get_weather", "parameters": {
        "type": "object", "properties": {"unit": {"enum": ["celsius", "fahrenheit"]}},
        "required": ["unit"], "additionalProperties": False}}}
    forced = client.chat.completions.create(
        model="instruct", messages=[{"role": "user", "content": "What is the weather in Paris?"}],
        tools=[weather], max_tokens=24, temperature=0,
        tool_choice={"type": "function", "function": {"name": "get_weather"}})
    [call] = forced.choices[0].message.tool_calls
    assert json.loads(call.function.arguments)["unit"] in ("celsius", "fahrenheit")


def test_the_roles_torch_threads_reach_vllms_engine_core(demo_vllm):
    """The engine core is spawned by the Instruct replica; it reads OMP_NUM_THREADS on start."""
    cores = []
    for p in psutil.process_iter(["name"]):
        try:
            if (p.info["name"] or "").startswith("VLLM::EngineCor") and \
                    "demovllm:Instruct" in " ".join(p.parent().cmdline()):
                cores.append(p.environ().get("OMP_NUM_THREADS"))
        except psutil.Error:
            continue
    assert cores == [str(THREADS)]
