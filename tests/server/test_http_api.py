"""The HTTP API of the tiny three-role app, over a real socket."""

from __future__ import annotations

import json

import httpx
import pytest

from serve.api.protocol import CompareEvent, CompareResponse, ErrorResponse, HealthResponse, ModelList


def post(url, body, **kw):
    return httpx.post(url, json=body, timeout=60, **kw)


def events(url, body) -> list:
    frames = []
    with httpx.stream("POST", url, json=body, timeout=60) as r:
        assert r.status_code == 200
        assert r.headers["content-type"].startswith("text/event-stream")
        for line in r.iter_lines():
            if line.startswith("data: "):
                frames.append(line[6:])
    assert frames[-1] == "[DONE]"
    return [CompareEvent.model_validate_json(f) for f in frames[:-1]]


def test_compare_returns_every_role_with_text_usage_and_timings(tiny_app):
    r = post(f"{tiny_app}/v1/compare", {"prompt": "9.11和9.8哪个更大？"})
    assert r.status_code == 200 and r.headers["x-request-id"]
    body = CompareResponse.model_validate(r.json())
    assert [x.role for x in body.results] == ["base", "instruct", "reasoning"]
    for result in body.results:
        assert result.error is None and result.response
        assert result.usage.prompt_tokens > 0 and result.usage.completion_tokens > 0
        assert result.usage.total_tokens == result.usage.prompt_tokens + result.usage.completion_tokens
        assert 0 < result.ttft_s <= result.latency_s
    reasoning = body.result("reasoning")
    assert reasoning.thinking  # the tiny Qwen3 template opens <think>
    # No </think> from a random model: every completion token was thinking.
    assert reasoning.usage.completion_tokens_details.reasoning_tokens == reasoning.usage.completion_tokens
    assert body.result("instruct").usage.completion_tokens_details is None
    assert body.result("base").thinking is None


def test_compare_subset_of_roles_with_per_role_overrides(tiny_app):
    body = {"prompt": "hello", "roles": ["instruct", "base"], "params": {"max_new_tokens": 3},
            "overrides": {"base": {"max_new_tokens": 5}}}
    results = CompareResponse.model_validate(post(f"{tiny_app}/v1/compare", body).json()).results
    assert [r.role for r in results] == ["instruct", "base"]
    assert results[0].usage.completion_tokens <= 3 and results[1].usage.completion_tokens <= 5


def test_compare_with_messages_and_system(tiny_app):
    body = {"messages": [{"role": "user", "content": "hi"}], "system": "be brief", "roles": ["instruct"]}
    r = post(f"{tiny_app}/v1/compare", body)
    assert r.status_code == 200 and r.json()["results"][0]["content"]


def test_streamed_compare_interleaves_roles_and_matches_the_whole(tiny_app):
    body = {"prompt": "苹果、香蕉、橘子、胡萝卜", "params": {"max_new_tokens": 12}}
    whole = CompareResponse.model_validate(post(f"{tiny_app}/v1/compare", body).json())
    evs = events(f"{tiny_app}/v1/compare", {**body, "stream": True})
    results = {e.role: e.result for e in evs if e.type == "result"}
    assert set(results) == {"base", "instruct", "reasoning"}
    for role, result in results.items():
        deltas = [e for e in evs if e.role == role and e.type == "delta"]
        assert "".join(e.content or "" for e in deltas) == result.content
        assert "".join(e.thinking or "" for e in deltas).strip() == (result.thinking or "")
        # Greedy: streaming gives the same text as a whole response.
        assert result.content == whole.result(role).content
        assert result.thinking == whole.result(role).thinking
        assert result.ttft_s is not None and result.ttft_s <= result.latency_s


def test_models_lists_the_roles(tiny_app):
    models = ModelList.model_validate(httpx.get(f"{tiny_app}/v1/models").json())
    assert {m.id: m.model for m in models.data} == {
        "base": "tiny-qwen2", "instruct": "tiny-qwen2", "reasoning": "tiny-qwen3"}


def test_healthz_reports_each_role(tiny_app):
    r = httpx.get(f"{tiny_app}/healthz", timeout=30)
    health = HealthResponse.model_validate(r.json())
    assert r.status_code == 200 and health.status == "ok"
    assert set(health.roles) == {"base", "instruct", "reasoning"}


BAD = [
    ("invalid json", b'{"prompt": ', 400, None),
    ("not utf-8", b'{"prompt": "\xff\xfe"}', 400, None),
    ("wrong type", {"prompt": 5}, 400, "prompt"),
    ("empty prompt", {"prompt": "  "}, 400, "prompt"),
    ("no input", {}, 400, None),
    ("unknown field", {"prompt": "x", "temprature": 1}, 400, "temprature"),
    ("unknown role", {"prompt": "x", "roles": ["critic"]}, 404, "roles"),
    ("negative temperature", {"prompt": "x", "params": {"temperature": -1}}, 400, "params.temperature"),
    ("top_p zero", {"prompt": "x", "params": {"top_p": 0}}, 400, "params.top_p"),
    ("zero tokens", {"prompt": "x", "params": {"max_new_tokens": 0}}, 400, "params.max_new_tokens"),
    ("over the cap", {"prompt": "x", "params": {"max_new_tokens": 100000}}, 400, "max_new_tokens"),
    ("too many stops", {"prompt": "x", "params": {"stop": ["a"] * 20}}, 400, "params.stop"),
    ("override for a role not asked", {"prompt": "x", "roles": ["base"],
                                       "overrides": {"instruct": {}}}, 400, "overrides"),
    ("no user message", {"messages": [{"role": "system", "content": "x"}]}, 400, "messages"),
]


@pytest.mark.parametrize("name,body,status,param", BAD, ids=[b[0] for b in BAD])
def test_bad_requests_get_one_error_shape(tiny_app, name, body, status, param):
    url = f"{tiny_app}/v1/compare"
    if isinstance(body, bytes):
        r = httpx.post(url, content=body, headers={"content-type": "application/json"})
    else:
        r = post(url, body)
    assert r.status_code == status, r.text
    err = ErrorResponse.model_validate(r.json()).error
    assert err.param == param and err.message and err.type == "invalid_request_error"
    assert err.request_id == r.headers["x-request-id"]
    assert r.headers["x-should-retry"] == "false"  # the same body fails again


def test_wrong_content_type_and_oversized_body(tiny_app):
    r = httpx.post(f"{tiny_app}/v1/compare", content="prompt=x",
                   headers={"content-type": "application/x-www-form-urlencoded"})
    assert r.status_code == 415 and r.json()["error"]["param"] == "content-type"
    big = json.dumps({"prompt": "x" * 2_000_000})
    r = httpx.post(f"{tiny_app}/v1/compare", content=big, headers={"content-type": "application/json"})
    assert r.status_code == 413 and r.json()["error"]["code"] == "body_too_large"
    assert r.headers["x-should-retry"] == "false"


def test_unknown_route_uses_the_error_shape(tiny_app):
    r = httpx.get(f"{tiny_app}/v1/nothing")
    assert r.status_code == 404 and r.json()["error"]["code"] == "not_found"


def test_server_keeps_serving_after_bad_requests(tiny_app):
    for body in ({"prompt": 1}, {"prompt": "x", "roles": ["nope"]}):
        post(f"{tiny_app}/v1/compare", body)
    r = post(f"{tiny_app}/v1/compare", {"prompt": "still there?", "roles": ["base"]})
    assert r.status_code == 200 and r.json()["results"][0]["error"] is None
