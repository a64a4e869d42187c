"""A role's `chunk_interval_ms` through Ray Serve and the OpenAI route, read with the openai
SDK: the first text comes as the engine's first token, the rest in at most one chunk per
interval, every character kept; a role with 0 streams each token as it comes; and with a
message budget (`stream_messages_per_s`) the interval grows with the streams the replica runs."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import openai
import pytest
from serving import deploy

from apps import scripted_role

WORDS = [f" w{i}" for i in range(30)]  # 30 tokens 20 ms apart: 0.6 s
LONG = [f" x{i}" for i in range(40)]  # 40 tokens 20 ms apart: 0.8 s


@pytest.fixture(scope="module")
def interval_app(serve_instance):
    roles = {"instruct": {**scripted_role(tokens=WORDS, token_s=0.02), "chunk_interval_ms": 0},
             "batched": {**scripted_role(tokens=WORDS, token_s=0.02), "chunk_interval_ms": 200},
             # 10 messages a second shared by the streams: one stream 100 ms, eight 800 ms.
             "budget": {**scripted_role(tokens=LONG, token_s=0.02), "chunk_interval_ms": 50,
                        "stream_messages_per_s": 10, "chunk_interval_max_ms": 1000}}
    url = deploy("intervals", {"roles": roles}, serve_instance)
    yield url
    from ray import serve
    serve.delete("intervals")


def deltas(url: str, model: str) -> list[str]:
    client = openai.OpenAI(base_url=f"{url}/v1", api_key="none", max_retries=0, timeout=60)
    stream = client.chat.completions.create(
        model=model, messages=[{"role": "user", "content": "hi"}], stream=True)
    return [c.choices[0].delta.content for c in stream
            if c.choices and c.choices[0].delta.content]


def test_an_interval_sends_the_first_token_alone_then_few_chunks(interval_app):
    got = deltas(interval_app, "batched")
    assert "".join(got) == "".join(WORDS)
    assert got[0] == WORDS[0]  # the first text is not held for the interval
    assert len(got) <= 1 + 0.6 / 0.2 + 2, got  # then about one chunk per 200 ms


def test_with_no_interval_each_token_comes_as_it_is_made(interval_app):
    got = deltas(interval_app, "instruct")
    assert "".join(got) == "".join(WORDS)
    assert len(got) >= 20, got  # 20 ms apart: the caller keeps up, nothing is merged


def test_a_message_budget_merges_more_tokens_while_more_streams_run(interval_app):
    alone = deltas(interval_app, "budget")
    with ThreadPoolExecutor(8) as pool:
        together = list(pool.map(lambda _: deltas(interval_app, "budget"), range(8)))
    assert "".join(alone) == "".join(LONG)
    assert all("".join(got) == "".join(LONG) for got in together)
    assert len(alone) >= 6, alone  # about one message per 100 ms over 0.8 s
    # Eight streams: about one per 800 ms each after the first text (the first streams to start
    # may wait one shorter interval while the others arrive).
    assert sorted(len(got) for got in together)[4] <= 4, together
