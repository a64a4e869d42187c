"""Correctness under batching: requests that share the running batch get what they would get
alone, finish on their own schedule, join it mid-flight; streamed text equals whole text.

The engine tests drive `HFEngine.generate` from threads, as the model deployment does; the HTTP
tests go through real Serve with the tiny app. Timing never decides a test: each checks the
order of events (who finished before whom) and the text.
"""

from __future__ import annotations

import asyncio
import json
import threading

import httpx
import pytest

from serve.api.protocol import GenerationParams
from serve.config import RoleConfig
from serve.engines.hf.engine import HFEngine
from serve.generation import Accumulator, GenerationRequest


def make_engine(path, **batching) -> HFEngine:
    engine = HFEngine(RoleConfig.model_validate({
        "model": {"source": "local", "path": str(path)}, "torch_threads": 1,
        "defaults": {"max_new_tokens": 24, "temperature": 0.0}, "batching": batching,
    }))
    engine.load()
    return engine


@pytest.fixture(scope="module")
def engine(tiny_dirs):
    e = make_engine(tiny_dirs["qwen2"])
    yield e
    e.shutdown()


def prepared(engine, prompt="hello there", **params):
    return engine.prepare(GenerationRequest(request_id="b", prompt=prompt,
                                            params=GenerationParams(**params)))


class Group(threading.Thread):
    """One `generate` call in a thread of its own (as one Serve batch is); records every event
    into a shared log in the order the steps came."""

    def __init__(self, engine, name, reqs, log):
        super().__init__(daemon=True)
        self.engine, self.name, self.reqs, self.log = engine, name, reqs, log
        self.accs = [Accumulator(0.0) for _ in reqs]
        self.first_step = threading.Event()

    def run(self):
        for step in self.engine.steps(self.reqs):
            self.first_step.set()
            for i, chunk in enumerate(step):
                if chunk is not None:
                    self.accs[i].add(chunk, 0.0)
                    if chunk.finish_reason:
                        self.log.append((self.name, i))

    def results(self):
        return [a.completion("m", 0.0) for a in self.accs]


def alone(engine, **params):
    g = Group(engine, "alone", [prepared(engine, **params)], [])
    g.run()
    return g.results()[0]


def test_a_group_joins_the_running_batch_and_finishes_first(engine):
    log: list = []
    long = Group(engine, "long", [prepared(engine, "the quick brown fox", max_new_tokens=48)], log)
    long.start()
    assert long.first_step.wait(30)  # the long request is decoding
    short = Group(engine, "short", [prepared(engine, "hello", max_new_tokens=3)], log)
    short.start()
    short.join(30)
    long.join(60)
    assert log == [("short", 0), ("long", 0)]  # it did not wait for the long one to finish
    assert short.results()[0].response == alone(engine, prompt="hello", max_new_tokens=3).response
    assert long.results()[0].response == alone(
        engine, prompt="the quick brown fox", max_new_tokens=48).response


def test_without_joining_a_group_waits_for_the_running_batch(tiny_dirs):
    engine = make_engine(tiny_dirs["qwen2"], continuous=False)
    try:
        log: list = []
        long = Group(engine, "long", [prepared(engine, "the quick brown fox", max_new_tokens=24)], log)
        long.start()
        assert long.first_step.wait(30)
        short = Group(engine, "short", [prepared(engine, "hello", max_new_tokens=2)], log)
        short.start()
        short.join(60)
        long.join(60)
        assert log == [("long", 0), ("short", 0)]
    finally:
        engine.shutdown()


def test_mixed_parameters_in_one_batch_match_each_request_alone(engine):
    asks = [
        dict(prompt="hello", max_new_tokens=5),
        dict(prompt="Which is larger, 9.11 or 9.8?", temperature=1.0, top_p=0.9, seed=3, max_new_tokens=20),
        dict(prompt="苹果、香蕉、橘子", temperature=0.7, top_k=5, min_p=0.05, seed=11, max_new_tokens=12),
        dict(prompt="the quick brown fox", repetition_penalty=1.3, max_new_tokens=16),
        dict(prompt="hello there", temperature=1.0, seed=5, max_new_tokens=20),  # no truncation
    ]
    expected = [alone(engine, **a) for a in asks]
    group = Group(engine, "mixed", [prepared(engine, **a) for a in asks], [])
    group.run()
    for one, many in zip(expected, group.results()):
        assert many.response == one.response
        assert (many.finish_reason, many.completion_tokens) == (one.finish_reason, one.completion_tokens)


def test_rows_leave_the_batch_in_the_order_they_finish(engine):
    log: list = []
    lengths = [20, 2, 9, 5]
    Group(engine, "g", [prepared(engine, "hello", max_new_tokens=n) for n in lengths], log).run()
    assert [i for _, i in log] == [1, 3, 2, 0]


def test_a_request_cancelled_while_waiting_for_room_is_answered_without_decoding(tiny_dirs):
    engine = make_engine(tiny_dirs["qwen2"], max_batch_size=1)
    try:
        log: list = []
        running = Group(engine, "running", [prepared(engine, max_new_tokens=24)], log)
        running.start()
        assert running.first_step.wait(30)
        waiting = Group(engine, "waiting", [prepared(engine, max_new_tokens=24)], log)
        waiting.reqs[0].cancelled.set()
        waiting.start()
        waiting.join(30)
        result = waiting.results()[0]
        assert result.finish_reason == "cancelled" and result.completion_tokens == 0
        running.join(60)
        assert log[0] == ("waiting", 0)
    finally:
        engine.shutdown()


def test_a_failing_step_fails_its_callers_and_the_engine_goes_on(engine):
    bad = prepared(engine)
    bad.prompt_ids = [10**6]  # beyond the vocabulary: the forward pass raises
    with pytest.raises(IndexError):
        list(engine.steps([bad]))
    assert alone(engine, max_new_tokens=4).completion_tokens == 4


# ---- through HTTP ---------------------------------------------------------------------------


async def _chat(client, url, body):
    r = await client.post(url + "/v1/chat/completions", json=body)
    assert r.status_code == 200, r.text
    return r.json()


def test_mixed_parameters_over_http_match_each_request_alone(tiny_app):
    msgs = [{"role": "user", "content": "Which is larger, 9.11 or 9.8?"}]
    asks = [
        {"max_tokens": 3},
        {"max_tokens": 24, "temperature": 1.0, "seed": 5},
        {"max_tokens": 16, "temperature": 0.8, "top_k": 4, "seed": 9},
        {"max_tokens": 24},
        {"max_tokens": 20, "stop": ["e"]},
    ]
    bodies = [{"model": "instruct", "messages": msgs, **a} for a in asks]

    async def run():
        async with httpx.AsyncClient(timeout=60) as client:
            one_by_one = [await _chat(client, tiny_app, b) for b in bodies]
            together = await asyncio.gather(*(_chat(client, tiny_app, b) for b in bodies))
        return one_by_one, together

    one_by_one, together = asyncio.run(run())
    for a, b in zip(one_by_one, together):
        assert b["choices"][0]["message"] == a["choices"][0]["message"]
        assert b["choices"][0]["finish_reason"] == a["choices"][0]["finish_reason"]
        assert b["usage"] == a["usage"]
    assert together[0]["usage"]["completion_tokens"] <= 3


def test_early_finisher_and_late_joiner_over_http(tiny_app):
    """A short request sent while long streams decode is answered before they end."""
    msgs = [{"role": "user", "content": "the quick brown fox"}]
    long = {"model": "instruct", "messages": msgs, "max_tokens": 64, "stream": True}
    order: list[str] = []

    async def stream(client, started: asyncio.Event):
        async with client.stream("POST", tiny_app + "/v1/chat/completions", json=long) as r:
            async for line in r.aiter_lines():
                if '"content"' in line:
                    started.set()
            order.append("long")

    async def run():
        async with httpx.AsyncClient(timeout=60) as client:
            alone = await _chat(client, tiny_app, {**long, "stream": False})
            assert alone["usage"]["completion_tokens"] == 64  # no early EOS on this prompt
            started = [asyncio.Event() for _ in range(2)]
            longs = [asyncio.create_task(stream(client, s)) for s in started]
            await asyncio.gather(*(s.wait() for s in started))
            short = await _chat(client, tiny_app, {"model": "instruct", "messages": msgs, "max_tokens": 2})
            order.append("short")
            await asyncio.gather(*longs)
            return short

    short = asyncio.run(run())
    assert short["usage"]["completion_tokens"] == 2
    assert order == ["short", "long", "long"]


def _sse_data(url, body) -> list[dict]:
    frames = []
    with httpx.stream("POST", url, json=body, timeout=60) as r:
        assert r.status_code == 200
        for line in r.iter_lines():
            if line.startswith("data: ") and line != "data: [DONE]":
                frames.append(json.loads(line[6:]))
    return frames


@pytest.mark.parametrize("role", ["base", "instruct", "reasoning"])
def test_streamed_chat_equals_whole_for_greedy(tiny_app, role):
    body = {"model": role, "messages": [{"role": "user", "content": "苹果、香蕉、橘子"}], "max_tokens": 24}
    whole = httpx.post(tiny_app + "/v1/chat/completions", json=body, timeout=60).json()
    frames = _sse_data(tiny_app + "/v1/chat/completions", {**body, "stream": True})
    deltas = [c["delta"] for f in frames for c in f["choices"]]
    message = whole["choices"][0]["message"]
    assert "".join(d.get("content") or "" for d in deltas) == message["content"]
    thinking = "".join(d.get("reasoning_content") or "" for d in deltas)
    assert thinking.strip() == (message.get("reasoning_content") or "")
    assert [c["finish_reason"] for f in frames for c in f["choices"] if c.get("finish_reason")] == [
        whole["choices"][0]["finish_reason"]]


def test_streamed_completion_equals_whole_for_greedy(tiny_app):
    body = {"model": "base", "prompt": "Once upon a time", "max_tokens": 24}
    whole = httpx.post(tiny_app + "/v1/completions", json=body, timeout=60).json()
    frames = _sse_data(tiny_app + "/v1/completions", {**body, "stream": True})
    assert "".join(c["text"] for f in frames for c in f["choices"]) == whole["choices"][0]["text"]


def test_streamed_compare_equals_whole_for_every_role(tiny_app):
    body = {"prompt": "Which is larger, 9.11 or 9.8?", "params": {"max_new_tokens": 20}}
    whole = httpx.post(tiny_app + "/v1/compare", json=body, timeout=60).json()["results"]
    frames = _sse_data(tiny_app + "/v1/compare", {**body, "stream": True})
    for result in whole:
        role = result["role"]
        deltas = [f for f in frames if f["role"] == role and f["type"] == "delta"]
        assert "".join(d.get("content") or "" for d in deltas) == result["content"]
        streamed_thinking = "".join(d.get("thinking") or "" for d in deltas).strip() or None
        assert streamed_thinking == result["thinking"]
