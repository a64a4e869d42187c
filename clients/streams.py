"""Server-sent event streams as typed iterators that always close their HTTP response.

    with client.compare_stream("hi") as events:     # closes on leaving, even after `break`
        for event in events:
            ...

Iterating to the end, an error frame, or `close()` all release the connection.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from typing import Generic, TypeVar

import httpx
from pydantic import BaseModel

from clients.errors import APIStreamError, header_request_id
from clients.sse import DONE, asse_data, frame_error, sse_data

T = TypeVar("T", bound=BaseModel)


def _decode(data: str, model: type[T], response: httpx.Response) -> T:
    obj = json.loads(data)
    error = frame_error(obj)
    if error is not None:
        raise APIStreamError(error.get("message", "stream error"), request=response.request,
                             body=obj, request_id=header_request_id(response))
    return model.model_validate(obj)


class Stream(Generic[T]):
    """An iterator of typed events over one streaming response; a context manager."""

    def __init__(self, response: httpx.Response, model: type[T]):
        self.response = response
        self._model = model
        self._iterator = self._events()

    def _events(self) -> Iterator[T]:
        done = False
        try:
            for data in sse_data(self.response.iter_lines()):
                if done:
                    continue  # read on to the end so the connection can be reused
                if data == DONE:
                    done = True
                    continue
                yield _decode(data, self._model, self.response)
        finally:
            self.response.close()

    def __iter__(self) -> Iterator[T]:
        return self._iterator

    def __next__(self) -> T:
        return next(self._iterator)

    def close(self) -> None:
        self._iterator.close()
        self.response.close()

    def __enter__(self) -> Stream[T]:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


class AsyncStream(Generic[T]):
    """The async twin of `Stream`: `async for` and `async with`."""

    def __init__(self, response: httpx.Response, model: type[T]):
        self.response = response
        self._model = model
        self._iterator = self._events()

    async def _events(self) -> AsyncIterator[T]:
        done = False
        try:
            async for data in asse_data(self.response.aiter_lines()):
                if done:
                    continue
                if data == DONE:
                    done = True
                    continue
                yield _decode(data, self._model, self.response)
        finally:
            await self.response.aclose()

    def __aiter__(self) -> AsyncIterator[T]:
        return self._iterator

    async def __anext__(self) -> T:
        return await self._iterator.__anext__()

    async def close(self) -> None:
        await self._iterator.aclose()
        await self.response.aclose()

    async def __aenter__(self) -> AsyncStream[T]:
        return self

    async def __aexit__(self, *exc) -> None:
        await self.close()

