"""`coalesced`: a replica's stream merges the chunks that queued up while its caller was busy,
never delays one that it could send, keeps every character, and passes errors and closing on."""

from __future__ import annotations

import asyncio

import pytest

from serve.generation import Chunk
from serve.replica.deployment import coalesced


async def source(n: int, log: list, fail_at: int | None = None, delay: float = 0.0):
    try:
        for i in range(n):
            if i == fail_at:
                raise RuntimeError("boom")
            await asyncio.sleep(delay)
            yield Chunk(content=f"{i},", finish_reason="length" if i == n - 1 else None,
                        completion_tokens=i + 1)
    finally:
        log.append("closed")


def test_a_busy_consumer_gets_fewer_chunks_with_all_the_text():
    async def go():
        got = []
        async for chunk in coalesced(source(50, [])):
            got.append(chunk)
            await asyncio.sleep(0.01)  # the consumer is slower than the engine
        return got

    got = asyncio.run(go())
    assert len(got) < 50
    assert "".join(c.content for c in got) == "".join(f"{i}," for i in range(50))
    assert got[-1].finish_reason == "length" and got[-1].completion_tokens == 50


def test_a_keen_consumer_gets_every_chunk_as_it_comes():
    async def go():
        return [c async for c in coalesced(source(10, [], delay=0.005))]

    assert [c.content for c in asyncio.run(go())] == [f"{i}," for i in range(10)]


def test_an_error_comes_after_the_text_before_it():
    async def go():
        got = []
        with pytest.raises(RuntimeError, match="boom"):
            async for chunk in coalesced(source(10, [], fail_at=4)):
                got.append(chunk.content)
        return "".join(got)

    assert asyncio.run(go()) == "0,1,2,3,"


def test_closing_early_closes_the_source():
    log: list = []

    async def go():
        stream = coalesced(source(1000, log, delay=0.001))
        await stream.__anext__()
        await stream.aclose()

    asyncio.run(go())
    assert log == ["closed"]
