"""Server-sent events: the one decoder of the `data` of each event, for every reader in this
project (the SDK's streams, `triserve bench`, the Locust file, the benchmarks).

    for data in sse_data(response.iter_lines()):        # sync lines: httpx, requests, a file
        if data == DONE:
            break
        frame = json.loads(data)

    async for data in asse_data(response.aiter_lines()):   # async lines (httpx)
        ...

It reads the subset of the SSE spec that triserve and OpenAI-compatible servers write: `data:`
lines (several make one event, joined by newlines), blank lines ending an event, `:` comments
(keep-alives) skipped, other fields (`event:`, `id:`, `retry:`) ignored. `[DONE]` is passed on as
the data it is; the reader decides what it means. An event the stream ends inside (no blank line
after it) is dropped, as the spec says.
"""

from __future__ import annotations

from collections.abc import AsyncIterable, AsyncIterator, Iterable, Iterator

DONE = "[DONE]"


class SSEDecoder:
    """Feed it lines one at a time; it returns an event's data when a blank line ends the event."""

    def __init__(self):
        self._data: list[str] = []

    def feed(self, line: str) -> str | None:
        """The data of the event this line ends, or None (the event goes on, or had no data)."""
        if not line:  # a blank line ends the event
            data, self._data = self._data, []
            return "\n".join(data) if data else None
        if line.startswith(":"):
            return None  # a comment (keep-alive)
        field, _, value = line.partition(":")
        if field == "data":
            self._data.append(value[1:] if value.startswith(" ") else value)
        return None


def sse_data(lines: Iterable[str]) -> Iterator[str]:
    """The data of each event in `lines` (a line iterator without line endings), in order."""
    decoder = SSEDecoder()
    for line in lines:
        data = decoder.feed(line)
        if data is not None:
            yield data


async def asse_data(lines: AsyncIterable[str]) -> AsyncIterator[str]:
    """The async twin of `sse_data`."""
    decoder = SSEDecoder()
    async for line in lines:
        data = decoder.feed(line)
        if data is not None:
            yield data


def frame_error(frame: object) -> dict | None:
    """The `error` object of a frame that reports a failure after the stream began (the status
    was already 200, so the error comes as a frame: `{"error": {"message": ...}}`), else None."""
    error = frame.get("error") if isinstance(frame, dict) else None
    return error if isinstance(error, dict) else None
