"""Every SDK method against the real server (three roles on tiny models), sync and async twins."""

from __future__ import annotations

import pytest

from clients import (
    AsyncClient,
    ChatCompletionChunk,
    ChatCompletionResponse,
    Client,
    CompareEvent,
    CompareResponse,
    CompletionResponse,
    GenerationParams,
)

ROLES = ["base", "instruct", "reasoning"]
SHORT = {"max_new_tokens": 5}


def check_compare(result: CompareResponse) -> None:
    assert isinstance(result, CompareResponse)
    assert [r.role for r in result.results] == ROLES
    assert result.result("base").usage.completion_tokens <= 2  # the override
    for role in ("instruct", "reasoning"):
        assert 1 <= result.result(role).usage.completion_tokens <= 5
    assert result.result("reasoning").thinking  # a tiny random model never closes </think>
    assert result.result("base").thinking is None


def test_compare(tiny_app):
    with Client(tiny_app) as client:
        check_compare(client.compare("hello", params=SHORT,
                                     overrides={"base": {"max_new_tokens": 2}}))


@pytest.mark.asyncio
async def test_compare_async(tiny_app):
    async with AsyncClient(tiny_app) as client:
        check_compare(await client.compare(
            "hello", params=GenerationParams(max_new_tokens=5),
            overrides={"base": GenerationParams(max_new_tokens=2)}))


def check_messages(result: CompareResponse) -> None:
    assert [r.role for r in result.results] == ["instruct"]
    assert result.results[0].usage.prompt_tokens > 5  # the system prompt and both turns


MESSAGES = [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "hello"},
            {"role": "user", "content": "and then?"}]


def test_compare_messages_roles_system(tiny_app):
    with Client(tiny_app) as client:
        check_messages(client.compare(messages=MESSAGES, roles=["instruct"], system="Be brief.",
                                      params=SHORT))


@pytest.mark.asyncio
async def test_compare_messages_roles_system_async(tiny_app):
    async with AsyncClient(tiny_app) as client:
        check_messages(await client.compare(messages=MESSAGES, roles=["instruct"],
                                            system="Be brief.", params=SHORT))


def check_events(events: list[CompareEvent]) -> None:
    assert all(isinstance(e, CompareEvent) for e in events)
    results = {e.role: e.result for e in events if e.type == "result"}
    assert sorted(results) == sorted(ROLES)
    for role, result in results.items():
        deltas = [e for e in events if e.role == role and e.type == "delta"]
        assert "".join(e.content or "" for e in deltas) == result.content
        assert "".join(e.thinking or "" for e in deltas) == (result.thinking or "")
        last_delta = max((events.index(e) for e in deltas), default=-1)
        assert events.index(next(e for e in events if e.result is result)) > last_delta


def test_compare_stream(tiny_app, busy_connections):
    with Client(tiny_app) as client:
        with client.compare_stream("hello", params=SHORT) as stream:
            events = list(stream)
        check_events(events)
        assert stream.response.is_closed and busy_connections(client) == 0


@pytest.mark.asyncio
async def test_compare_stream_async(tiny_app, busy_connections):
    async with AsyncClient(tiny_app) as client:
        async with await client.compare_stream("hello", params=SHORT) as stream:
            events = [e async for e in stream]
        check_events(events)
        assert stream.response.is_closed and busy_connections(client) == 0


def check_chat(response: ChatCompletionResponse) -> None:
    assert isinstance(response, ChatCompletionResponse)
    message = response.choices[0].message
    assert message.reasoning_content and message.reasoning == message.reasoning_content
    assert response.usage.completion_tokens <= 5
    assert response.choices[0].finish_reason in ("stop", "length")


CHAT = [{"role": "user", "content": "hi"}]


def test_chat(tiny_app):
    with Client(tiny_app) as client:
        check_chat(client.chat("reasoning", CHAT, params=SHORT))


@pytest.mark.asyncio
async def test_chat_async(tiny_app):
    async with AsyncClient(tiny_app) as client:
        check_chat(await client.chat("reasoning", CHAT, params=SHORT))


def check_chunks(chunks: list[ChatCompletionChunk]) -> None:
    assert all(isinstance(c, ChatCompletionChunk) for c in chunks)
    assert chunks[0].choices[0].delta.role == "assistant"
    assert "".join(c.choices[0].delta.reasoning_content or "" for c in chunks)
    assert chunks[-1].choices[0].finish_reason in ("stop", "length")


def test_chat_stream(tiny_app, busy_connections):
    with Client(tiny_app) as client:
        with client.chat("reasoning", CHAT, params=SHORT, stream=True) as stream:
            chunks = list(stream)
        check_chunks(chunks)
        assert stream.response.is_closed and busy_connections(client) == 0


@pytest.mark.asyncio
async def test_chat_stream_async(tiny_app, busy_connections):
    async with AsyncClient(tiny_app) as client:
        async with await client.chat("reasoning", CHAT, params=SHORT, stream=True) as stream:
            chunks = [c async for c in stream]
        check_chunks(chunks)
        assert stream.response.is_closed and busy_connections(client) == 0


def check_completion(whole: CompletionResponse, pieces: list[CompletionResponse]) -> None:
    assert isinstance(whole, CompletionResponse) and whole.usage.completion_tokens == 3
    # Greedy decoding: streamed pieces add up to the whole answer.
    assert "".join(p.choices[0].text for p in pieces if p.choices) == whole.choices[0].text
    assert pieces[-1].choices[0].finish_reason == "length"


def test_complete(tiny_app):
    with Client(tiny_app) as client:
        whole = client.complete("base", "Once upon a time", params={"max_new_tokens": 3})
        with client.complete("base", "Once upon a time", params={"max_new_tokens": 3},
                             stream=True) as stream:
            check_completion(whole, list(stream))


@pytest.mark.asyncio
async def test_complete_async(tiny_app):
    async with AsyncClient(tiny_app) as client:
        whole = await client.complete("base", "Once upon a time", params={"max_new_tokens": 3})
        async with await client.complete("base", "Once upon a time",
                                         params={"max_new_tokens": 3}, stream=True) as stream:
            check_completion(whole, [p async for p in stream])


def check_models_health(models, health) -> None:
    assert [(m.role, m.model) for m in models.data] == [
        ("base", "tiny-qwen2"), ("instruct", "tiny-qwen2"), ("reasoning", "tiny-qwen3")]
    assert health.status == "ok" and sorted(health.roles) == sorted(ROLES)


def test_models_and_health(tiny_app):
    with Client(tiny_app) as client:
        check_models_health(client.models(), client.health())


@pytest.mark.asyncio
async def test_models_and_health_async(tiny_app):
    async with AsyncClient(tiny_app) as client:
        check_models_health(await client.models(), await client.health())
