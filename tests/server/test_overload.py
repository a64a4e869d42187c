"""Back-pressure: beyond max_queued_requests a role answers 503 with Retry-After at once, while
the requests it accepted complete."""

from __future__ import annotations

import asyncio
import time

import httpx
import pytest
from serving import deploy
from ray import serve

from apps import scripted_role
from ledger import record, write

SLOW = {**scripted_role(tokens=[" a", " b", " c", " d", " e"], token_s=0.3),
        "batching": {"max_batch_size": 1}}


@pytest.fixture(scope="module")
def busy(serve_instance):
    options = {"Base": {"max_ongoing_requests": 1, "max_queued_requests": 1}}
    url = deploy("busy", {"roles": {"base": SLOW, "instruct": scripted_role()}}, serve_instance, options)
    yield url
    write()
    serve.delete("busy")


async def burst(url: str, body: dict, n: int, path="/v1/chat/completions"):
    async with httpx.AsyncClient(timeout=60) as client:
        async def one():
            start = time.perf_counter()
            r = await client.post(url + path, json=body)
            return r, time.perf_counter() - start

        return await asyncio.gather(*(one() for _ in range(n)))


def test_overload_gets_503_with_retry_after_at_once_and_accepted_requests_complete(busy):
    chat = {"model": "base", "messages": [{"role": "user", "content": "hi"}]}
    answers = asyncio.run(burst(busy, chat, 8))
    ok = [(r, s) for r, s in answers if r.status_code == 200]
    refused = [(r, s) for r, s in answers if r.status_code == 503]
    for r, _ in answers:
        record("overload", "completed" if r.status_code == 200 else f"http {r.status_code}")
    assert len(ok) + len(refused) == len(answers)  # nothing else, nothing lost
    # The role takes one request and queues one; how many of the burst get in depends on how
    # fast the first is handed to the replica, but some are refused and every accepted one ends.
    assert ok and refused
    first_answer_s = min(seconds for _, seconds in ok)  # ≥ 1.5 s: five tokens, 0.3 s apart
    for r, seconds in refused:
        assert r.headers["retry-after"] == "1" and r.headers["x-should-retry"] == "true"
        assert r.json()["error"]["code"] == "overloaded"
        # Refused at once, not after waiting in line: before even the first accepted request,
        # which never waited, has its answer (relative, so a busy machine slows both alike).
        assert seconds < first_answer_s
    for r, _ in ok:
        assert r.json()["choices"][0]["message"]["content"] == " a b c d e"


def test_overloaded_role_inside_a_comparison_is_that_roles_error(busy):
    body = {"prompt": "hi", "roles": ["base", "instruct"]}
    answers = asyncio.run(burst(busy, body, 6, path="/v1/compare"))
    errors = 0
    for r, _ in answers:
        assert r.status_code == 200
        results = {x["role"]: x for x in r.json()["results"]}
        assert results["instruct"]["error"] is None
        errors += results["base"]["error"] is not None
        record("overload in compare", "error" if results["base"]["error"] else "completed")
    assert errors >= 1
