"""The one fan-out of the ingress: several async streams read at once, their items interleaved
in the order they arrive. The compare route reads its roles this way, the OpenAI routes the `n`
choices of one request.

    async with aclosing(interleaved({"base": s1, "instruct": s2})) as items:
        async for key, item in items:
            if item is END: ...                        # that stream ended
            elif isinstance(item, Exception): ...      # that stream failed (it ends there too)
            else: ...                                  # the stream's next item

Each stream is read by a task of its own; closing the iterator (the client went away, or the
consumer stopped at an error) cancels every task still reading, and with it the role's call.
"""

from __future__ import annotations

import asyncio
from typing import AsyncIterable, AsyncIterator, Hashable, Mapping, TypeVar

K = TypeVar("K", bound=Hashable)
T = TypeVar("T")


class _End:
    def __repr__(self) -> str:
        return "END"


END = _End()
"""What `interleaved` yields, once per stream, after that stream's last item."""


async def interleaved(streams: Mapping[K, AsyncIterable[T]]
                      ) -> AsyncIterator[tuple[K, T | Exception | _End]]:
    """(key, item) for every item of every stream as it arrives; (key, END) when a stream ends,
    or (key, the exception) when it fails, which ends it. Ends when every stream has. Use it
    under `contextlib.aclosing`, so that leaving early cancels the readers at once."""
    queue: asyncio.Queue = asyncio.Queue()

    async def pump(key: K, stream: AsyncIterable[T]) -> None:
        try:
            async for item in stream:
                await queue.put((key, item))
        except Exception as exc:  # noqa: BLE001  (the consumer decides what a failure means)
            await queue.put((key, exc))
        else:
            await queue.put((key, END))

    tasks = [asyncio.create_task(pump(key, stream)) for key, stream in streams.items()]
    try:
        remaining = len(tasks)
        while remaining:
            key, item = await queue.get()
            if item is END or isinstance(item, Exception):
                remaining -= 1
            yield key, item
    finally:
        for task in tasks:
            task.cancel()
