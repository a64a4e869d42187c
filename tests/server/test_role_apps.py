"""`role_apps`: each role an application of its own whose replica answers OpenAI requests itself
(serve/replica/endpoint.py), the comparing ingress calling the roles across applications. One
role on vLLM, one on our loop; API keys on, as a deployment open to a network has them."""

from __future__ import annotations


import httpx
import pytest
from openai import OpenAI

from apps import TINY_EFFORT, tiny_roles, vllm_role
from budgets import VLLM_START_S, start_budget
from serving import abort_mid_stream, delete_role_apps, deploy_role_apps, driver_handle

KEY = "other-key"  # one of TRISERVE_TEST_KEYS (tests/conftest.py)
ROLE_APPS_START_S = start_budget("role_apps", VLLM_START_S)
HELLO = [{"role": "user", "content": "Say hello"}]


@pytest.fixture(scope="module")
def role_apps(serve_instance, tiny_dirs, both_dir):
    """(the comparing app's URL, role → its own endpoint's URL)."""
    args = tiny_roles(tiny_dirs)
    args["roles"] = {"instruct": vllm_role(both_dir, n_cap=2),
                     "reasoning": {**args["roles"]["reasoning"], "reasoning_effort": TINY_EFFORT}}
    args["ingress"] = {"api_keys_env": "TRISERVE_TEST_KEYS"}
    try:
        yield deploy_role_apps("ra", args, serve_instance, timeout_s=ROLE_APPS_START_S)
    finally:
        delete_role_apps("ra", args["roles"])


def _client(url: str) -> OpenAI:
    return OpenAI(base_url=f"{url}/v1", api_key=KEY, max_retries=0, timeout=60)


@pytest.mark.parametrize("role", ["instruct", "reasoning"])
def test_a_role_answers_at_its_own_endpoint_as_through_the_comparing_ingress(role_apps, role):
    compare, own = role_apps
    direct, via = _client(own[role]), _client(compare)
    kw = dict(model=role, messages=HELLO, max_tokens=12, temperature=0, reasoning_effort="low")
    a, b = (c.chat.completions.create(**kw) for c in (direct, via))
    assert a.choices[0].message.content == b.choices[0].message.content
    assert a.usage.completion_tokens == b.usage.completion_tokens > 0
    if role == "reasoning":  # the thinking split in the replica as in the ingress
        thinking = a.choices[0].message.model_extra["reasoning_content"]
        assert thinking and thinking == b.choices[0].message.model_extra["reasoning_content"]
    streamed = "".join(ch.choices[0].delta.content or "" for ch in direct.chat.completions.create(
        **kw, stream=True) if ch.choices)
    assert streamed == a.choices[0].message.content
    text = [c.completions.create(model=role, prompt="Once upon", max_tokens=6, temperature=0)
            .choices[0].text for c in (direct, via)]
    assert text[0] == text[1]
    assert [m.id for m in direct.models.list()] == [role]


def test_n_choices_and_usage_stream_from_the_role_endpoint(role_apps):
    _, own = role_apps
    stream = _client(own["instruct"]).chat.completions.create(
        model="tiny-vllm", messages=HELLO, max_tokens=8, temperature=0, n=2, stream=True,
        stream_options={"include_usage": True})
    chunks = list(stream)
    texts = {0: "", 1: ""}
    for c in chunks:
        for choice in c.choices:
            texts[choice.index] += choice.delta.content or ""
    assert texts[0] and texts[0] == texts[1]  # greedy: the two choices alike
    usage = chunks[-1].usage  # after the last choice: both choices' tokens, the prompt's once
    assert usage.completion_tokens % 2 == 0 and usage.completion_tokens > 0
    assert not chunks[-1].choices


def test_the_role_endpoint_refuses_in_the_one_error_shape(role_apps):
    _, own = role_apps
    url = f"{own['instruct']}/v1/chat/completions"
    body = {"model": "instruct", "messages": HELLO, "max_tokens": 4}
    auth = {"authorization": f"Bearer {KEY}"}
    cases = [
        (httpx.post(url, json=body), 401, None),  # no key: the API keys hold here too
        (httpx.post(url, json={**body, "model": "reasoning"}, headers=auth), 404, "model"),
        (httpx.post(url, json={**body, "temperature": "hot"}, headers=auth), 400, "temperature"),
        (httpx.post(url, json={**body, "n": 3}, headers=auth), 400, "n"),  # above n_cap
        (httpx.post(url, content=b"x", headers={**auth, "content-type": "text/plain"}), 415,
         "content-type"),
    ]
    for response, status, param in cases:
        assert response.status_code == status, response.text
        error = response.json()["error"]
        assert error["message"] and error["param"] == param
    assert httpx.get(f"{own['instruct']}/healthz").status_code == 200  # public, as /healthz


def test_a_client_that_leaves_a_role_endpoint_stream_aborts_its_request(role_apps):
    _, own = role_apps
    handle = driver_handle("Instruct", "ra-instruct")
    before, now = abort_mid_stream(handle, own["instruct"], {"authorization": f"Bearer {KEY}"})
    assert now["cancelled"] == before["cancelled"] + 1
    assert now["engine_running"] == 0  # vLLM let go of the request: it was aborted
    assert now["completion_tokens"] == before["completion_tokens"]  # it never finished


def test_the_comparing_ingress_reaches_the_roles_across_applications(role_apps):
    compare, _ = role_apps
    auth = {"authorization": f"Bearer {KEY}"}
    health = httpx.get(f"{compare}/healthz").json()
    assert {r: h["status"] for r, h in health["roles"].items()} == {
        "instruct": "ok", "reasoning": "ok"}
    answer = httpx.post(f"{compare}/v1/compare", headers=auth, timeout=60, json={
        "prompt": "Say hello", "params": {"max_new_tokens": 6, "temperature": 0}}).json()
    assert {r["role"]: r["error"] for r in answer["results"]} == {
        "instruct": None, "reasoning": None}
