"""The model deployment: one class, deployed once per role (Base, Instruct, Reasoning).

Concurrent requests meet in Ray Serve's `@serve.batch`, which here batches a *streaming*
generator: every decode step yields one item per request, and a request that finishes leaves
the batch (`StopIteration` in its slot) while the others go on. The engine's decode loop runs in
a worker thread so that the replica's event loop keeps taking requests during a batch.
"""

from __future__ import annotations

import asyncio
import logging
import time
from concurrent.futures import ThreadPoolExecutor
from typing import AsyncIterator

from ray import serve

from serve.config import RoleConfig
from serve.engine import build_engine
from serve.errors import EngineFailure, TriserveError
from serve.generation import Accumulator, Chunk, Completion, GenerationRequest, PreparedRequest
from serve.metrics import RoleMetrics

logger = logging.getLogger("ray.serve")

_DONE = object()
# Batches in flight at once. The HF engine merges them into one running batch (requests join at
# the next decode step: serve/continuous.py); each waits on it in a thread of its own.
_GROUPS_IN_FLIGHT = 16


@serve.deployment(max_ongoing_requests=32, health_check_period_s=10, health_check_timeout_s=30)
class ModelServer:
    def __init__(self, role: str, config: dict):
        self.role = role
        self.config = RoleConfig.model_validate(config)
        self.engine = build_engine(self.config)
        self.engine.start()
        self._decode_threads = ThreadPoolExecutor(_GROUPS_IN_FLIGHT, thread_name_prefix="decode")
        batching = self.config.batching
        self._batched.set_max_batch_size(batching.max_batch_size)
        self._batched.set_batch_wait_timeout_s(batching.batch_wait_timeout_s)
        self.counters = {"running": 0, "finished": 0, "cancelled": 0, "completion_tokens": 0}
        self.metrics = RoleMetrics(role)

    async def stream(self, req: GenerationRequest) -> AsyncIterator[Chunk]:
        """Yields an empty chunk (with `prompt_tokens`) as soon as the request is accepted, so a
        caller learns of a refusal before it commits to a streaming response; then the text."""
        prepared = self.engine.prepare(req)
        yield Chunk(prompt_tokens=len(prepared.prompt_ids))
        async for chunk in self._run(prepared):
            yield chunk

    async def generate(self, req: GenerationRequest) -> Completion:
        acc = Accumulator(time.perf_counter())
        async for chunk in self._run(self.engine.prepare(req)):
            acc.add(chunk, time.perf_counter())
        return acc.completion(self.engine.model_id, time.perf_counter())

    async def _run(self, prepared: PreparedRequest) -> AsyncIterator[Chunk]:
        start = time.perf_counter()
        first = None
        try:
            async for chunk in self._batched(prepared):
                if chunk is not None:
                    if first is None and (chunk.content or chunk.thinking or chunk.finish_reason):
                        first = time.perf_counter()
                    if chunk.finish_reason:
                        self.metrics.finished(
                            chunk.finish_reason, chunk.prompt_tokens, chunk.completion_tokens,
                            first - start, time.perf_counter() - first)
                    yield chunk
        finally:
            prepared.cancelled.set()  # the caller went away or we are done: free its batch row

    @serve.batch(
        max_batch_size=8, batch_wait_timeout_s=0.01, max_concurrent_batches=_GROUPS_IN_FLIGHT
    )
    async def _batched(self, batch: list[PreparedRequest]) -> AsyncIterator[list]:
        loop = asyncio.get_running_loop()
        steps: asyncio.Queue = asyncio.Queue()

        def decode():
            try:
                for step in self.engine.generate(batch):
                    loop.call_soon_threadsafe(steps.put_nowait, step)
            except BaseException as exc:  # handed to the event loop, raised there for every row
                loop.call_soon_threadsafe(steps.put_nowait, exc)
            finally:
                loop.call_soon_threadsafe(steps.put_nowait, _DONE)

        worker = loop.run_in_executor(self._decode_threads, decode)
        finished = [False] * len(batch)
        self.counters["running"] += len(batch)
        self.metrics.batch_size.observe(len(batch))
        try:
            while (step := await steps.get()) is not _DONE:
                if isinstance(step, BaseException):
                    raise self._engine_error(step, batch)
                out = []
                for i, chunk in enumerate(step):
                    out.append(StopIteration if finished[i] else chunk)
                    if chunk is not None and chunk.finish_reason and not finished[i]:
                        finished[i] = True
                        self._count(chunk)
                yield out
        finally:
            self.counters["running"] -= finished.count(False)
            for req in batch:
                req.cancelled.set()
            await asyncio.shield(worker)

    def _count(self, last: Chunk) -> None:
        c = self.counters
        c["running"] -= 1
        c["cancelled" if last.finish_reason == "cancelled" else "finished"] += 1
        c["completion_tokens"] += last.completion_tokens

    def _engine_error(self, exc: BaseException, batch: list[PreparedRequest]) -> Exception:
        if isinstance(exc, TriserveError):
            return exc
        ids = ", ".join(r.request_id for r in batch)
        logger.error("engine failed on requests %s", ids, exc_info=exc)
        return EngineFailure(f"the {self.role} model failed while generating")

    async def stats(self) -> dict:
        """Counters since the replica started: requests decoding now, finished, cancelled (the
        caller went away), and completion tokens generated."""
        return {"role": self.role, **self.counters}

    async def health(self) -> dict:
        self.engine.check_health()
        return {"role": self.role, "model": self.engine.model_id}

    def check_health(self) -> None:
        self.engine.check_health()

    def __del__(self):
        engine = getattr(self, "engine", None)
        if engine is not None:
            engine.shutdown()
