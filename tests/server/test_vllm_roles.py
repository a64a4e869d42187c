"""Roles on vLLM behind the same graph, through every route: a comparison that mixes engines
(base on our loop, instruct and reasoning on vLLM), the OpenAI routes through the openai SDK,
models, health, the thinking split, streamed equal to whole, a disconnect that aborts in vLLM,
and a prompt over the model's context refused with a 400."""

from __future__ import annotations


import httpx
import pytest
from openai import OpenAI
from serving import abort_mid_stream, driver_handle

from serve.api.protocol import CompareResponse, HealthResponse
from test_http_api import events, post

QUESTION = "9.11和9.8哪个更大？"


def test_compare_mixes_engines_and_splits_thinking_on_vllm(mixed):
    r = post(f"{mixed}/v1/compare", {"prompt": QUESTION})
    assert r.status_code == 200
    body = CompareResponse.model_validate(r.json())
    assert [x.model for x in body.results] == ["tiny-qwen2", "tiny-vllm", "tiny-vllm-r"]
    for result in body.results:
        assert result.error is None and result.response and result.usage.completion_tokens == 16
    reasoning = body.result("reasoning")
    # A random model never closes its thinking: cut inside it, all of it is thinking.
    assert reasoning.thinking and reasoning.content == ""
    assert reasoning.usage.completion_tokens_details.reasoning_tokens == 16
    assert body.result("instruct").thinking is None and body.result("instruct").content


def test_streamed_compare_equals_whole_on_every_engine(mixed):
    body = {"prompt": QUESTION, "params": {"max_new_tokens": 12}}
    whole = CompareResponse.model_validate(post(f"{mixed}/v1/compare", body).json())
    results = {e.role: e.result for e in events(f"{mixed}/v1/compare", {**body, "stream": True})
               if e.type == "result"}
    for expected in whole.results:
        got = results[expected.role]
        assert (got.response, got.content, got.thinking) == (
            expected.response, expected.content, expected.thinking)


def test_openai_sdk_chat_and_completions_on_vllm_roles(mixed):
    client = OpenAI(base_url=f"{mixed}/v1", api_key="unused")
    messages = [{"role": "user", "content": QUESTION}]
    chat = client.chat.completions.create(model="reasoning", messages=messages, max_tokens=10)
    message = chat.choices[0].message
    assert message.reasoning_content and message.reasoning == message.reasoning_content
    assert chat.usage.completion_tokens_details.reasoning_tokens == 10
    streamed = "".join(
        getattr(c.choices[0].delta, "reasoning_content", None) or ""
        for c in client.chat.completions.create(model="reasoning", messages=messages,
                                                max_tokens=10, stream=True) if c.choices)
    assert streamed.strip() == message.reasoning_content
    off = client.chat.completions.create(
        model="tiny-vllm-r", messages=messages, max_tokens=10,
        extra_body={"chat_template_kwargs": {"enable_thinking": False}})
    assert off.choices[0].message.content and off.choices[0].message.reasoning_content is None
    text = client.completions.create(model="instruct", prompt="hello", max_tokens=6)
    assert text.choices[0].finish_reason == "length" and text.usage.completion_tokens == 6
    ids = {m.id for m in client.models.list().data}
    assert {"base", "instruct", "reasoning"} <= ids


def test_health_reports_every_role_ready(mixed):
    r = httpx.get(f"{mixed}/healthz", timeout=30)
    assert r.status_code == 200
    health = HealthResponse.model_validate(r.json())
    assert health.roles["reasoning"].model == "tiny-vllm-r"


def test_a_prompt_over_the_context_is_a_400_naming_it(mixed):
    # The role accepts 1024 prompt tokens, but vLLM's context is 512 with 16 to generate.
    r = post(f"{mixed}/v1/completions", {"model": "instruct", "prompt": "hello " * 600})
    assert r.status_code == 400
    err = r.json()["error"]
    assert (err["param"], err["code"]) == ("prompt", "context_length_exceeded"), err
    assert "context" in err["message"]


def test_a_client_that_disconnects_aborts_its_vllm_request(mixed):
    handle = driver_handle("Instruct", "mixed")
    before, now = abort_mid_stream(handle, mixed)
    assert now["cancelled"] == before["cancelled"] + 1
    assert now["engine_running"] == 0  # vLLM let go of the request: it was aborted
    assert now["completion_tokens"] == before["completion_tokens"]  # it never finished


def test_the_sdk_compares_and_streams_across_engines(mixed):
    from clients import Client

    with Client(mixed) as client:
        whole = client.compare(QUESTION, roles=["base", "reasoning"], params={"max_new_tokens": 8})
        assert [r.role for r in whole.results] == ["base", "reasoning"]
        with client.compare_stream(QUESTION, roles=["reasoning"], params={"max_new_tokens": 8}) as s:
            thinking = "".join(e.thinking or "" for e in s if e.type == "delta")
    assert thinking.strip() == whole.result("reasoning").thinking
