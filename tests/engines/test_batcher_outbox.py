"""The hf decode loop hands each step to its callers' event loop in one wake-up, however many rows
decode for callers on that loop (serve/engines/hf/batcher.py, `_Outbox`); and a caller whose loop
has closed has its row cancelled, not decoded to its end."""

from __future__ import annotations

import asyncio
import threading
import time

from serve.api.protocol import GenerationParams
from serve.generation import GenerationRequest

ROWS = 6
TOKENS = 12


def _request(rid: str, tokens: int) -> GenerationRequest:
    return GenerationRequest(request_id=rid, prompt=f"count {rid}", raw=True,
                             params=GenerationParams(max_new_tokens=tokens, ignore_eos=True))


def test_one_wake_up_per_step_for_every_row_on_a_loop(drivers):
    driver = drivers("hf")
    engine, loop = driver.engine, driver.loop
    wake_ups = []
    original = loop.call_soon_threadsafe

    def counting(callback, *args, **kwargs):
        if threading.current_thread() is engine.batcher.thread:
            wake_ups.append(callback)
        return original(callback, *args, **kwargs)

    async def one(rid: str) -> list:
        return [c async for c in engine.stream(engine.prepare(_request(rid, TOKENS)))]

    async def together(e):
        return await asyncio.gather(*(one(f"r{i}") for i in range(ROWS)))

    loop.call_soon_threadsafe = counting
    try:
        streams = driver.run(together)
    finally:
        del loop.call_soon_threadsafe
    assert all(s[-1].completion_tokens == TOKENS for s in streams)
    # One wake-up per decode step: a step emits for every row at once, and the rows joined within
    # the first steps (at most TOKENS + ROWS steps). One per row and step (the old way) would be
    # at least ROWS × TOKENS.
    assert len(wake_ups) <= TOKENS + ROWS < ROWS * TOKENS, len(wake_ups)


def test_a_caller_whose_loop_closed_has_its_row_cancelled(drivers):
    engine = drivers("hf").engine
    loop = asyncio.new_event_loop()

    async def first_chunk():
        stream = engine.stream(engine.prepare(_request("orphan", 256)))
        return stream, await anext(stream)

    stream, first = loop.run_until_complete(first_chunk())
    assert first is not None
    loop.close()  # the stream is left suspended: no `finally` of the caller's will run
    deadline = time.monotonic() + 30
    while engine.running() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert engine.running() == 0, "the orphaned row kept decoding"
    del stream
