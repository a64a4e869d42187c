"""The engine contract, run against every engine that runs a model (hf and vllm), on the same
tiny random Qwen3: the same requests must behave the same way whichever engine serves the role.

Each test drives `prepare` + `generate` as the model deployment does, on the engine's event loop.
"""

from __future__ import annotations

import asyncio

import pytest

from serve.api.protocol import GenerationParams
from serve.errors import InvalidRequest
from serve.generation import Accumulator, Chunk, Completion, GenerationRequest

QUESTION = "Which is larger, 9.11 or 9.8?"


def request(prompt=QUESTION, raw=False, **params) -> GenerationRequest:
    return GenerationRequest(request_id="c", prompt=prompt, raw=raw, params=GenerationParams(**params))


async def collect(engine, req: GenerationRequest) -> tuple[Completion, list[Chunk]]:
    """Runs one request; its Completion and its chunks. Checks the one-final-chunk contract."""
    acc, chunks = Accumulator(0.0), []
    async for chunk in engine.stream(engine.prepare(req)):
        assert not (chunks and chunks[-1].finish_reason), "a chunk came after the final one"
        acc.add(chunk, 0.0)
        chunks.append(chunk)
    assert chunks and chunks[-1].finish_reason
    return acc.completion(engine.model_id, 0.0), chunks


def one(driver, req) -> Completion:
    return driver.run(lambda e: collect(e, req))[0]


def many(driver, reqs) -> list[Completion]:
    async def go(e):
        return [c for c, _ in await asyncio.gather(*(collect(e, r) for r in reqs))]

    return driver.run(go)


def test_greedy_is_deterministic(driver):
    first, second = one(driver, request()), one(driver, request())
    assert first.response == second.response
    assert first.completion_tokens == 24


def test_seeded_request_is_the_same_alone_and_in_a_mixed_batch(driver):
    seeded = request("the quick brown fox", raw=True, temperature=1.0, top_p=0.9, top_k=50,
                     seed=1234, max_new_tokens=20)
    alone = one(driver, seeded)
    other_seed = one(driver, request("the quick brown fox", raw=True, temperature=1.0, top_p=0.9,
                                     top_k=50, seed=99, max_new_tokens=20))
    mixed = many(driver, [
        request("hello", raw=True, max_new_tokens=7),
        seeded,
        request("苹果、香蕉、橘子、胡萝卜", temperature=0.8, seed=5, max_new_tokens=30),
        request(QUESTION, enable_thinking=False, max_new_tokens=12, repetition_penalty=1.3),
    ])
    assert mixed[1].response == alone.response
    assert alone.response != other_seed.response


def test_greedy_rows_in_a_batch_match_each_alone(driver):
    reqs = [request("hello", raw=True, max_new_tokens=5), request(QUESTION, max_new_tokens=24),
            request("苹果、香蕉", enable_thinking=False, max_new_tokens=13)]
    alone = [one(driver, r) for r in reqs]
    for a, b in zip(alone, many(driver, reqs)):
        assert (a.response, a.finish_reason, a.completion_tokens) == (
            b.response, b.finish_reason, b.completion_tokens)


def test_max_new_tokens_finishes_with_length_and_counts_usage(driver):
    out = one(driver, request("hello there", raw=True, max_new_tokens=5))
    assert out.finish_reason == "length"
    assert out.completion_tokens == 5
    prompt_ids = driver.engine.prepare(request("hello there", raw=True)).prompt_ids
    assert out.prompt_tokens == len(prompt_ids)


def test_a_stop_string_spanning_tokens_cuts_the_answer(driver):
    full = one(driver, request(QUESTION, enable_thinking=False, max_new_tokens=24)).content
    assert len(full) > 8
    stop = full[3:8]  # five characters: more than one token of this tokenizer
    cut = one(driver, request(QUESTION, enable_thinking=False, max_new_tokens=24, stop=[stop]))
    assert cut.finish_reason == "stop"
    assert cut.content == full[: full.index(stop)]


def test_thinking_is_split_and_output_cut_inside_it_is_all_thinking(driver):
    out, chunks = driver.run(lambda e: collect(e, request(max_new_tokens=16)))
    # A random model never closes its thinking within 16 tokens: all of it is thinking.
    assert out.thinking and out.content == ""
    assert out.finish_reason == "length"
    assert out.thinking_tokens == out.completion_tokens == 16
    assert "".join(c.thinking for c in chunks).strip() == out.thinking
    off = one(driver, request(enable_thinking=False, max_new_tokens=16))
    assert off.thinking is None and off.content and off.thinking_tokens == 0


def test_a_raw_prompt_is_continued_without_the_chat_template(driver):
    engine = driver.engine
    raw = engine.prepare(request("hello", raw=True))
    chat = engine.prepare(request("hello"))
    assert len(raw.prompt_ids) < len(chat.prompt_ids)
    assert not raw.thinking and chat.thinking


def test_a_cancelled_request_ends_and_the_others_go_on(driver):
    keep = request(QUESTION, enable_thinking=False, max_new_tokens=20)
    alone = one(driver, keep)

    async def go(e):
        gen = e.stream(e.prepare(request("the quick brown fox", raw=True, max_new_tokens=200)))
        other = asyncio.ensure_future(collect(e, keep))
        got = [await gen.__anext__() for _ in range(2)]
        await gen.aclose()  # the client went away
        return got, (await other)[0]

    got, other = driver.run(go)
    assert len(got) == 2
    assert other.response == alone.response

    async def settled(e):
        for _ in range(100):  # the engine lets go of the row at its next step
            if e.running() == 0:
                return True
            await asyncio.sleep(0.05)
        return False

    assert driver.run(settled), "the cancelled request is still held by the engine"
    assert one(driver, request("hello", raw=True, max_new_tokens=3)).completion_tokens == 3


def test_bad_input_is_refused_by_name(driver):
    engine = driver.engine
    with pytest.raises(InvalidRequest) as err:
        engine.prepare(request(max_new_tokens=100_000))
    assert err.value.param == "max_new_tokens"
    with pytest.raises(InvalidRequest) as err:
        engine.prepare(request("hello " * 2000, raw=True))
    assert err.value.param == "prompt" and err.value.code == "context_length_exceeded"


def test_a_refused_request_does_not_disturb_a_running_one(driver):
    keep = request(QUESTION, max_new_tokens=20)
    alone = one(driver, keep)

    async def go(e):
        running = asyncio.ensure_future(collect(e, keep))
        await asyncio.sleep(0)
        with pytest.raises(InvalidRequest):
            e.prepare(request("hello " * 2000, raw=True))
        return (await running)[0]

    assert driver.run(go).response == alone.response
