"""How a replica's stream reaches its caller: the engine's chunks merged into fewer messages.

Each item a Serve streaming method yields is a message of its own, replica → ingress → proxy,
and each costs CPU on every hop (3.7 ms of CPU a token in all for a vLLM role at 8 streams on a
2-core EPYC, where vLLM's own server spends 0.31 ms: benchmarks/path_cpu.py, RESULTS.md; 2.7 ms
with the default interval). On a CPU those hops take the cores the engine needs; on a GPU, where
the engine emits tokens ten to fifty times faster, they cap the replica. So a stream's chunks
are merged:
- always, those that queued up while the caller was busy;
- with an interval (the role's `chunk_interval_ms`), also those that come within it: after a
  stream's first text, at most one message per interval. This is Ray Serve LLM's stream
  batching (`stream_batching_interval_ms`, 50 ms there), less its cost to TTFT
  (ray-project/ray #59681: its first flush waits out the interval): the first text goes out at
  once, and the stream's end is never held;
- and the interval may grow with the replica's load (the role's `stream_messages_per_s`): a
  replica's streams together send about that many messages a second, each stream's interval
  between `chunk_interval_ms` and `chunk_interval_max_ms` (`interval_for`). A fixed interval
  merges little once a stream gets a token less often than the interval (16 streams on a 2-core
  CPU: one token about every 55 ms), and a GPU replica runs tens of streams.
"""

from __future__ import annotations

import asyncio
from typing import AsyncIterator, Callable

from serve.generation import Chunk, merge_chunks

_END = object()


def interval_for(streams: Callable[[], int], base_ms: float, messages_per_s: float,
                 max_ms: float) -> Callable[[], float]:
    """A stream's interval in seconds, read at each message: `streams()` (the replica's running
    streams) / `messages_per_s`, bounded by `base_ms` below and `max_ms` above (milliseconds);
    `base_ms` alone where `messages_per_s` is 0. 16 streams at 160 messages a second: 100 ms."""
    base_s, max_s = base_ms / 1000, max(max_ms, base_ms) / 1000
    if messages_per_s <= 0 or base_s <= 0:
        return lambda: base_s
    return lambda: min(max_s, max(base_s, streams() / messages_per_s))


async def coalesced(chunks: AsyncIterator[Chunk],
                    interval_s: float | Callable[[], float] = 0.0) -> AsyncIterator[Chunk]:
    """`chunks` merged into fewer: those that arrived while the consumer was busy, and, with
    `interval_s` > 0, those that came less than `interval_s` seconds after the last one sent
    once the first text (content or thinking) has gone. `interval_s` may be a function, called
    as each message goes (`interval_for`: the interval grows with the replica's load). Every
    character, the last chunk's finish fields and an error (raised after the text before it)
    are kept; the end and an error are passed on at once. Closing this closes `chunks` (the
    engine drops the request). Raises whatever `chunks` raises."""
    interval = interval_s if callable(interval_s) else (lambda: interval_s)
    queue: asyncio.Queue = asyncio.Queue()
    loop = asyncio.get_running_loop()
    waiting: list[asyncio.Future] = []  # the consumer's wait for the interval, while it waits
    ended = False

    def _wake() -> None:
        if waiting and not waiting[0].done():
            waiting[0].set_result(None)

    async def pump() -> None:
        nonlocal ended
        try:
            async for chunk in chunks:
                queue.put_nowait(chunk)
            queue.put_nowait(_END)
        except Exception as exc:  # handed to the consumer, raised there
            queue.put_nowait(exc)
        ended = True
        _wake()  # the end is not held for the interval

    task = asyncio.create_task(pump())
    next_at = None  # when the next message may go (None: at once)
    try:
        while True:
            if next_at is not None and not ended and (delay := next_at - loop.time()) > 0:
                waiting.append(loop.create_future())
                timer = loop.call_later(delay, _wake)
                try:
                    await waiting[0]
                finally:
                    timer.cancel()
                    waiting.clear()
            items = [await queue.get()]
            while not queue.empty():
                items.append(queue.get_nowait())
            text = [c for c in items if isinstance(c, Chunk)]
            if text:
                merged = merge_chunks(text)
                if next_at is not None or merged.content or merged.thinking:
                    wait = interval()
                    next_at = loop.time() + wait if wait > 0 else None
                yield merged
            end = items[-1]
            if end is _END:
                return
            if isinstance(end, BaseException):
                raise end
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
