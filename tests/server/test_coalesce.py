"""`coalesced`: a replica's stream merges the chunks that queued up while its caller was busy,
and with an interval those that come within it after the first text; it never holds the first
text or the end, keeps every character, and passes errors and closing on."""

from __future__ import annotations

import asyncio
import time

import pytest

from serve.generation import Chunk
from serve.replica.coalesce import coalesced, interval_for


async def source(n: int, log: list, fail_at: int | None = None, delay: float = 0.0,
                 last_delay: float | None = None):
    try:
        for i in range(n):
            if i == fail_at:
                raise RuntimeError("boom")
            await asyncio.sleep(last_delay if i == n - 1 and last_delay is not None else delay)
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


async def timed(stream) -> list[tuple[float, Chunk]]:
    """(seconds since the first item was asked for, chunk) for every chunk of `stream`."""
    start = time.perf_counter()
    return [(time.perf_counter() - start, c) async for c in stream]


def test_with_an_interval_the_first_text_goes_at_once_then_one_message_per_interval():
    # 60 chunks 5 ms apart (0.3 s) with a 100 ms interval: the first alone, then about three.
    got = asyncio.run(timed(coalesced(source(60, [], delay=0.005), interval_s=0.1)))
    assert got[0][1].content == "0," and got[0][0] < 0.05
    assert 3 <= len(got) <= 6, [(round(t, 3), c.content) for t, c in got]
    gaps = [b - a for (a, _), (b, _) in zip(got, got[1:-1])]  # the end is not held (below)
    assert all(g > 0.09 for g in gaps), gaps
    assert "".join(c.content for _, c in got) == "".join(f"{i}," for i in range(60))
    assert got[-1][1].finish_reason == "length" and got[-1][1].completion_tokens == 60


def test_with_an_interval_the_end_is_not_held():
    # The last chunk comes 20 ms after the first: it goes then, not when a 2 s interval ends.
    got = asyncio.run(timed(coalesced(source(2, [], last_delay=0.02), interval_s=2.0)))
    assert [c.content for _, c in got] == ["0,", "1,"]
    assert got[-1][0] < 0.5


def test_with_an_interval_an_error_comes_at_once_after_the_text_before_it():
    async def go():
        got = []
        start = time.perf_counter()
        with pytest.raises(RuntimeError, match="boom"):
            async for chunk in coalesced(source(10, [], fail_at=4, delay=0.01), interval_s=2.0):
                got.append(chunk.content)
        return "".join(got), time.perf_counter() - start

    text, took = asyncio.run(go())
    assert text == "0,1,2,3," and took < 0.5


def test_with_an_interval_a_chunk_after_a_long_gap_goes_at_once():
    # Nothing held when nothing came within the interval: the next chunk is sent as it comes.
    got = asyncio.run(timed(coalesced(source(3, [], delay=0.15), interval_s=0.05)))
    assert [c.content for _, c in got] == ["0,", "1,", "2,"]
    assert got[1][0] - got[0][0] < 0.25


def test_an_interval_given_as_a_function_is_read_as_each_message_goes():
    # 100 ms after the first text, 20 ms after every later message: the gaps follow the function.
    asked = []

    def interval() -> float:
        asked.append(1)
        return 0.1 if len(asked) == 1 else 0.02

    got = asyncio.run(timed(coalesced(source(40, [], delay=0.005), interval_s=interval)))
    assert "".join(c.content for _, c in got) == "".join(f"{i}," for i in range(40))
    assert got[1][0] - got[0][0] > 0.09  # the first wait was the first answer's
    assert len(got) >= 5 and len(asked) >= 4, [(round(t, 3), c.content) for t, c in got]


@pytest.mark.parametrize("streams,expected_s", [(1, 0.05), (8, 0.05), (16, 0.1), (32, 0.2),
                                                (100, 0.25)])
def test_the_interval_grows_with_the_streams_between_its_bounds(streams, expected_s):
    # 160 messages a second shared by the streams, 50 ms at least, 250 ms at most.
    assert interval_for(lambda: streams, 50, 160, 250)() == pytest.approx(expected_s)


def test_without_a_message_budget_or_an_interval_the_interval_is_the_base():
    assert interval_for(lambda: 64, 50, 0, 250)() == pytest.approx(0.05)
    assert interval_for(lambda: 64, 0, 160, 250)() == 0.0  # 0 ms: each step's text as it comes
