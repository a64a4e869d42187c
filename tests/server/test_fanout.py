"""The comparing ingress with scripted engines: concurrency, failures and time budgets."""

from __future__ import annotations

import time

import httpx
import pytest
from serving import deploy

from apps import scripted_role
from serve.api.protocol import CompareResponse

WORDS = ["one", " two", " three", " four", " five", " six"]


@pytest.fixture(scope="module")
def fanout_app(serve_instance):
    roles = {
        "base": scripted_role(tokens=WORDS, token_s=0.2),
        "instruct": scripted_role(tokens=WORDS, token_s=0.3),
        "reasoning": {**scripted_role(tokens=WORDS, think=["hmm", " well"], token_s=0.4),
                      "reasoning": True},
    }
    url = deploy("fanout", {"roles": roles}, serve_instance)
    yield url
    from ray import serve
    serve.delete("fanout")


@pytest.fixture(scope="module")
def faulty_app(serve_instance):
    roles = {
        "base": scripted_role(tokens=WORDS),
        "instruct": scripted_role(fail_with="CUDA out of memory at /secret/path"),
        "reasoning": scripted_role(tokens=WORDS, token_s=1.0),  # 5 s: over the 1.5 s budget
    }
    url = deploy("faulty", {"roles": roles, "ingress": {"role_timeout_s": 1.5}}, serve_instance)
    yield url
    from ray import serve
    serve.delete("faulty")


def timed_compare(url, body):
    start = time.perf_counter()
    r = httpx.post(f"{url}/v1/compare", json=body, timeout=60)
    return r, time.perf_counter() - start


def test_compare_takes_as_long_as_the_slowest_role_not_the_sum(fanout_app):
    timed_compare(fanout_app, {"prompt": "warm up"})
    singles = {}
    for role in ("base", "instruct", "reasoning"):
        r, singles[role] = timed_compare(fanout_app, {"prompt": "hi", "roles": [role]})
        assert r.status_code == 200
    r, together = timed_compare(fanout_app, {"prompt": "hi"})
    body = CompareResponse.model_validate(r.json())
    assert all(x.error is None for x in body.results)
    assert body.result("reasoning").thinking == "hmm well"
    slowest, total = max(singles.values()), sum(singles.values())
    # reasoning alone sleeps 7 × 0.4 s = 2.8 s; all three one after another about 6.3 s.
    assert together < slowest + 1.0, (together, singles)
    assert together < 0.75 * total, (together, singles)


def test_one_role_failing_or_timing_out_never_fails_the_comparison(faulty_app):
    r, elapsed = timed_compare(faulty_app, {"prompt": "hi"})
    assert r.status_code == 200
    body = CompareResponse.model_validate(r.json())
    assert body.result("base").error is None and body.result("base").content == "".join(WORDS)
    failed = body.result("instruct")
    assert failed.finish_reason == "error" and failed.error.type == "server_error"
    assert "secret" not in failed.error.message  # the replica's message is not leaked
    slow = body.result("reasoning")
    assert slow.error.code == "timeout" and slow.finish_reason == "error"
    assert elapsed < 4.0  # the budget, not the slow role's 5 s


def test_streamed_compare_reports_the_failures_as_results(faulty_app):
    with httpx.stream("POST", f"{faulty_app}/v1/compare", json={"prompt": "hi", "stream": True},
                      timeout=30) as r:
        lines = [line for line in r.iter_lines() if line.startswith("data: ")]
    assert lines[-1] == "data: [DONE]"
    import json
    results = {e["role"]: e["result"] for e in map(json.loads, (x[6:] for x in lines[:-1]))
               if e["type"] == "result"}
    assert results["base"]["error"] is None
    assert results["instruct"]["error"]["type"] == "server_error"
    assert results["reasoning"]["error"]["code"] == "timeout"


def test_single_model_routes_answer_504_and_500_in_the_error_shape(faulty_app):
    chat = {"model": "reasoning", "messages": [{"role": "user", "content": "hi"}]}
    r = httpx.post(f"{faulty_app}/v1/chat/completions", json=chat, timeout=30)
    assert r.status_code == 504 and r.json()["error"]["type"] == "timeout_error"
    r = httpx.post(f"{faulty_app}/v1/chat/completions", json={**chat, "model": "instruct"}, timeout=30)
    assert r.status_code == 500 and "Traceback" not in r.text and "secret" not in r.text
    r = httpx.post(f"{faulty_app}/v1/chat/completions", json={**chat, "model": "base"}, timeout=30)
    assert r.status_code == 200
