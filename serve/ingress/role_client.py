"""Calling a model deployment from the ingress: time budgets, and errors made typed.

Every call has a deadline (the role's time budget); past it the call is cancelled on the replica
and an `UpstreamTimeout` raised. A role with no running replica (`serve/ingress/availability.py`) is
refused at once with a 503 (`no_replica`), and a call still waiting for a replica when the role
loses its last one fails then, not at its deadline. Anything a handle raises comes out as a
`TriserveError`.

`LocalCaller` is the same calls made in-process, for a role's replica that answers HTTP itself.
"""

from __future__ import annotations

import asyncio
import time
from typing import AsyncIterator, Awaitable, Callable, TypeVar

from serve.errors import UpstreamTimeout
from serve.generation import Chunk, Completion, GenerationRequest, ModelReplica
from serve.ingress.availability import ReplicaWatch
from serve.ingress.ray_errors import classify

T = TypeVar("T")


class RoleCaller:
    """Calls one role's deployment through its handle, within the role's time budget."""

    def __init__(self, role: str, handle, timeout_s: float, watch: ReplicaWatch | None = None):
        self.role = role
        self.handle = handle
        self.timeout_s = timeout_s
        self.watch = watch

    def _timeout(self) -> UpstreamTimeout:
        return UpstreamTimeout(f"the {self.role} model did not answer within {self.timeout_s:g} s")

    async def check_available(self) -> None:
        """Raises the role's 503 (`no_replica`) when it has no running replica."""
        if self.watch is not None:
            await self.watch.check(self.role)

    async def complete(self, req: GenerationRequest) -> Completion:
        """One whole answer."""
        await self.check_available()
        response = self.handle.complete.remote(req)
        return await self._bounded(await_response(response), time.monotonic() + self.timeout_s,
                                   response.cancel)

    async def open_stream(self, req: GenerationRequest) -> "RoleStream":
        """Starts a stream and waits until the replica accepts the request (or refuses it)."""
        await self.check_available()
        stream = RoleStream(self, self.handle.options(stream=True).stream.remote(req))
        await stream.next()  # the replica's acceptance chunk; raises its refusal
        return stream

    async def _bounded(self, aw: Awaitable[T], deadline: float, cancel: Callable[[], None],
                       watch_lost: bool = True) -> T:
        """`aw` within the deadline and, while `watch_lost`, until the role loses its last
        running replica; either ends the call on the replica (`cancel`) and raises."""
        call = asyncio.ensure_future(aw)
        waiters = {call}
        lost = None
        if watch_lost and self.watch is not None:
            lost = asyncio.ensure_future(self.watch.lost(self.role).wait())
            waiters.add(lost)
        try:
            done, _ = await asyncio.wait(waiters, timeout=max(0.0, deadline - time.monotonic()),
                                         return_when=asyncio.FIRST_COMPLETED)
        finally:
            if lost is not None:
                lost.cancel()
            if not call.done():
                call.cancel()
        if call in done:
            exc = call.exception()
            if exc is None:
                return call.result()
            if isinstance(exc, StopAsyncIteration):
                raise exc
            raise classify(exc) from None
        cancel()
        if lost is not None and lost in done:
            raise self.watch.error(self.role)
        raise self._timeout()


async def await_response(response):
    """A coroutine for a DeploymentResponse, so that asyncio can time it."""
    return await response


async def chunks_of(stream) -> AsyncIterator[Chunk]:
    """`stream`'s chunks (its `next()` until StopAsyncIteration), then `stream.close()`, also
    when the reader leaves early: `RoleStream` and `LocalStream` iterate this way."""
    try:
        while True:
            try:
                yield await stream.next()
            except StopAsyncIteration:
                return
    finally:
        await stream.close()


class RoleStream:
    """The chunks of one streaming call, each awaited against the call's deadline; the first
    (the replica's acceptance) also against the role's loss of its last replica."""

    def __init__(self, caller: RoleCaller, gen):
        self.caller = caller
        self.gen = gen
        self.deadline = time.monotonic() + caller.timeout_s
        self.accepted = False
        self.ended = False  # the replica's stream finished (StopAsyncIteration)

    async def next(self) -> Chunk:
        """The next chunk; raises StopAsyncIteration at the end."""
        if not self.accepted:
            chunk = await self.caller._bounded(self.gen.__anext__(), self.deadline,
                                               self.gen.cancel)
            self.accepted = True
            return chunk
        # Once accepted, each chunk is awaited in this task under the deadline alone: no task,
        # no wait set per chunk (this runs once per chunk on the ingress's loop).
        try:
            async with asyncio.timeout(self.deadline - time.monotonic()):
                return await self.gen.__anext__()
        except StopAsyncIteration:
            self.ended = True
            raise
        except TimeoutError:
            self.gen.cancel()
            raise self.caller._timeout() from None
        except Exception as exc:
            raise classify(exc) from None

    def __aiter__(self) -> AsyncIterator[Chunk]:
        return chunks_of(self)

    async def close(self) -> None:
        # Frees the replica when the client left. Not after the end: a finished stream has
        # nothing to cancel, and Ray's cancel still costs a call into its core worker (3% of
        # the ingress's samples under load, benchmarks/RESULTS.md).
        if not self.ended:
            self.gen.cancel()


class LocalCaller:
    """Calls a role in its own process: what a role's replica uses when it answers HTTP itself
    (`serve/replica/endpoint.py`, `role_apps`), in place of `RoleCaller`'s handle. `server` is
    the replica itself (its `stream` and `complete`: `generation.ModelReplica`); every call has
    the role's time budget, past which it is ended and `UpstreamTimeout` raised. Errors are the
    server's own (`TriserveError`s)."""

    def __init__(self, role: str, server: ModelReplica, timeout_s: float):
        self.role = role
        self.server = server
        self.timeout_s = timeout_s

    def _timeout(self) -> UpstreamTimeout:
        return UpstreamTimeout(f"the {self.role} model did not answer within {self.timeout_s:g} s")

    async def complete(self, req: GenerationRequest) -> Completion:
        """One whole answer."""
        try:
            async with asyncio.timeout(self.timeout_s):
                return await self.server.complete(req)
        except TimeoutError:
            raise self._timeout() from None

    async def open_stream(self, req: GenerationRequest) -> "LocalStream":
        """Starts a stream and waits for its acceptance chunk (or the refusal it raises)."""
        stream = LocalStream(self, self.server.stream(req))
        await stream.next()
        return stream


class LocalStream:
    """The chunks of one in-process stream, each awaited against the call's deadline; leaving
    early closes the server's generator, which frees the request's row in the engine."""

    def __init__(self, caller: LocalCaller, gen):
        self.caller = caller
        self.gen = gen
        self.deadline = time.monotonic() + caller.timeout_s

    async def next(self) -> Chunk:
        """The next chunk; raises StopAsyncIteration at the end."""
        try:
            async with asyncio.timeout(self.deadline - time.monotonic()):
                return await self.gen.__anext__()
        except TimeoutError:
            await self.gen.aclose()
            raise self.caller._timeout() from None

    def __aiter__(self) -> AsyncIterator[Chunk]:
        return chunks_of(self)

    async def close(self) -> None:
        await self.gen.aclose()
