"""Calling a model deployment from the ingress: time budgets, and errors made typed.

Every call has a deadline (the role's time budget); past it the call is cancelled on the replica
and an `UpstreamTimeout` raised. Anything a handle raises comes out as a `TriserveError`.
"""

from __future__ import annotations

import asyncio
import time
from typing import AsyncIterator

from serve.errors import UpstreamTimeout
from serve.generation import Chunk, Completion, GenerationRequest
from serve.http_errors import classify


class RoleCaller:
    def __init__(self, role: str, handle, timeout_s: float):
        self.role = role
        self.handle = handle
        self.timeout_s = timeout_s

    def _timeout(self) -> UpstreamTimeout:
        return UpstreamTimeout(f"the {self.role} model did not answer within {self.timeout_s:g} s")

    async def complete(self, req: GenerationRequest) -> Completion:
        response = self.handle.generate.remote(req)
        try:
            return await asyncio.wait_for(await_response(response), self.timeout_s)
        except asyncio.TimeoutError:
            response.cancel()
            raise self._timeout() from None
        except Exception as exc:
            raise classify(exc) from None

    async def open_stream(self, req: GenerationRequest) -> "RoleStream":
        """Starts a stream and waits until the replica accepts the request (or refuses it)."""
        stream = RoleStream(self, self.handle.options(stream=True).stream.remote(req))
        await stream.next()  # the replica's acceptance chunk; raises its refusal
        return stream


async def await_response(response):
    """A coroutine for a DeploymentResponse, so that asyncio.wait_for can time it."""
    return await response


class RoleStream:
    """The chunks of one streaming call, each awaited against the call's deadline."""

    def __init__(self, caller: RoleCaller, gen):
        self.caller = caller
        self.gen = gen
        self.deadline = time.monotonic() + caller.timeout_s

    async def next(self) -> Chunk:
        try:
            return await asyncio.wait_for(self.gen.__anext__(), self.deadline - time.monotonic())
        except asyncio.TimeoutError:
            self.gen.cancel()
            raise self.caller._timeout() from None
        except StopAsyncIteration:
            raise
        except Exception as exc:
            raise classify(exc) from None

    async def __aiter__(self) -> AsyncIterator[Chunk]:
        try:
            while True:
                try:
                    yield await self.next()
                except StopAsyncIteration:
                    return
        finally:
            self.gen.cancel()  # a no-op when finished; frees the replica when the client left
