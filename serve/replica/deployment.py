"""The model deployment: one class, deployed once per role (Base, Instruct, Reasoning).

A thin async layer over the role's engine (serve/engines/): each request goes to
`engine.stream` on its own and the engine schedules its batch (our loop: requests join the
running batch at the next decode step; vLLM: its scheduler). The replica says it is ready only
after the engine has loaded and run one short generation (`warm_up`), so the first user does not
pay for first-call allocations.
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
from concurrent.futures import ThreadPoolExecutor
from typing import AsyncIterator

from ray import serve

from serve.config import RoleConfig
from serve.engines import build_engine
from serve.errors import EngineDead, EngineFailure, TriserveError
from serve.generation import (Accumulator, Chunk, Completion, GenerationRequest, PreparedRequest,
                              TokenLogprob)
from serve.metrics import RoleMetrics
from serve.replica.coalesce import coalesced, interval_for
from serve.replica.tool_calls import ToolCallReader, parser_class

logger = logging.getLogger("ray.serve")

# How often the replica asks its engine whether it died (`Engine.dead`, a flag read), and how
# long a replica whose engine died lives on so that its running streams get their error frames
# out before the process ends and Serve starts a replacement.
ENGINE_WATCH_S = 0.25
DEAD_GRACE_S = 0.5


async def _scored(prepared: PreparedRequest) -> AsyncIterator[Chunk]:
    """What stands for the engine's chunks when the prompt is only scored (`echo` with
    `max_tokens: 0`): the final chunk, nothing generated."""
    yield Chunk(finish_reason="length", prompt_tokens=len(prepared.prompt_ids), response="")


# health_check_period_s 2: the controller finds a replica that ended itself (its engine died)
# within about 2 s and replaces it at once (a crashed actor needs one failed check, an
# application failure three in a row).
@serve.deployment(max_ongoing_requests=32, health_check_period_s=2, health_check_timeout_s=30)
class ModelServer:
    """One role's replica. `stream` and `complete` are what the ingress calls (through
    DeploymentHandles); `health` and `stats` answer probes and tests.

    When its engine dies (vLLM's engine core process killed, our decode thread ended) the
    replica knows within `ENGINE_WATCH_S`: its calls get `EngineDead` (503 `no_replica`, with
    Retry-After) instead of a 500, and after `DEAD_GRACE_S` it ends its own process, so that
    Serve's next health check (every 2 s) sees a crashed actor and starts a replacement at once,
    rather than after three failed checks."""

    async def __init__(self, role: str, config: dict):
        self.role = role
        self.config = RoleConfig.model_validate(config)
        if self.config.tool_parser:
            parser_class(self.config.tool_parser)  # fails the start, not the first request
        self.engine = build_engine(self.config)
        started = time.perf_counter()
        await self.engine.start()
        loaded = time.perf_counter()
        await self.engine.warm_up()
        held = self.engine.loaded_as()
        logger.info("%s: %s engine loaded in %.1f s, warmed up in %.1f s%s", role,
                    self.config.engine, loaded - started, time.perf_counter() - loaded,
                    f" ({held})" if held else "")
        self.counters = {"running": 0, "finished": 0, "cancelled": 0, "completion_tokens": 0}
        self.streams = 0  # the streams running now: their interval grows with them
        c = self.config
        self._interval = interval_for(lambda: self.streams, c.chunk_interval_ms,
                                      c.stream_messages_per_s, c.chunk_interval_max_ms)
        self.metrics = RoleMetrics(role)
        self.dead: str | None = None
        self.tokenizing = ThreadPoolExecutor(1, thread_name_prefix=f"{role}-tokenize")
        self._watch = asyncio.get_running_loop().create_task(self._watch_engine())

    async def _watch_engine(self) -> None:
        while not self._engine_dead():
            await asyncio.sleep(ENGINE_WATCH_S)

    def _engine_dead(self) -> bool:
        """True when the engine died; the first time, the replica's end is scheduled."""
        if self.dead is None and (reason := self.engine.dead()):
            self.dead = reason
            logger.error("%s: %s; this replica ends in %.1f s and Serve starts another",
                         self.role, reason, DEAD_GRACE_S)
            # os._exit: nothing of this process can serve again, and a crashed actor is what
            # Serve's controller replaces without waiting for more failed health checks.
            asyncio.get_running_loop().call_later(DEAD_GRACE_S, os._exit, 1)
        return self.dead is not None

    def _refuse_if_dead(self) -> None:
        if self._engine_dead():
            raise EngineDead(f"the {self.role} model's engine died ({self.dead}); a new replica "
                             "is starting, retry later")

    async def stream(self, req: GenerationRequest) -> AsyncIterator[Chunk]:
        """Yields an empty chunk (with `prompt_tokens`) as soon as the request is accepted, so a
        caller learns of a refusal before it commits to a streaming response; then the text,
        merged into fewer chunks (`serve/replica/coalesce.py`: the role's `chunk_interval_ms`,
        longer while many streams run, `stream_messages_per_s`)."""
        prepared = await self._prepare(req)
        yield Chunk(prompt_tokens=len(prepared.prompt_ids))
        self.streams += 1
        try:
            async for chunk in coalesced(self._run(prepared), self._interval):
                yield chunk
        finally:
            self.streams -= 1

    async def complete(self, req: GenerationRequest) -> Completion:
        """The whole generation at once."""
        acc = Accumulator(time.perf_counter())
        async for chunk in self._run(await self._prepare(req)):
            acc.add(chunk, time.perf_counter())
        return acc.completion(self.engine.model_id, time.perf_counter())

    async def _prepare(self, req: GenerationRequest) -> PreparedRequest:
        """The request rendered and tokenized, on the replica's one tokenizer thread: the
        replica's event loop runs Serve's router and every stream's chunks, and a long prompt
        takes tens of milliseconds (8,000 words: about 60 ms); one thread keeps the calls into
        the tokenizer one at a time."""
        self._refuse_if_dead()
        # Calls are read with the role's tool_parser: serve/ingress/openai_routes.py refuses
        # `tools` left to a model without one (a forced tool_choice is read there, from JSON).
        loop = asyncio.get_running_loop()
        prepared = await loop.run_in_executor(self.tokenizing, self.engine.prepare, req)
        prepared.tools = bool(req.tools) and req.parse_tool_calls
        return prepared

    async def _run(self, prepared: PreparedRequest) -> AsyncIterator[Chunk]:
        """The engine's chunks, with the echoed prompt first and tool calls read out; a chunk
        that finished its request with `error` (the engine failed this row alone) is raised
        as `EngineFailure`."""
        start = time.perf_counter()
        first = None
        last = None
        reader = (ToolCallReader(self.config.tool_parser, self.engine.tokenizer)
                  if prepared.tools else None)
        self.counters["running"] += 1
        self.metrics.batch_size.observe(self.counters["running"])
        try:
            if prepared.echo is not None:
                yield Chunk(content=prepared.echo, logprobs=await self._prompt_logprobs(prepared))
            source = _scored(prepared) if prepared.score_only else self.engine.stream(prepared)
            async for chunk in source:
                if first is None and (chunk.content or chunk.thinking or chunk.finish_reason):
                    first = time.perf_counter()
                if chunk.finish_reason == "error":
                    logger.error("request %s failed in the engine: %s", prepared.request_id,
                                 chunk.error)
                    raise EngineFailure(f"the {self.role} model failed on this request")
                if reader is not None:
                    chunk = reader.feed(chunk)
                if chunk.finish_reason:
                    last = chunk
                    self.metrics.finished(
                        chunk.finish_reason, chunk.prompt_tokens, chunk.completion_tokens,
                        first - start, time.perf_counter() - first)
                yield chunk
        except TriserveError:
            raise
        except Exception as exc:
            self._refuse_if_dead()  # the engine died under this request: a 503, not a 500
            logger.error("engine failed on request %s", prepared.request_id, exc_info=exc)
            raise EngineFailure(f"the {self.role} model failed while generating") from None
        finally:
            prepared.cancelled.set()  # the caller went away or we are done: free its row
            self._count(last)

    async def _prompt_logprobs(self, prepared: PreparedRequest) -> list[TokenLogprob]:
        """The echoed prompt's log-probabilities when the request asked for logprobs."""
        if prepared.sampling.logprobs is None:
            return []
        return await self.engine.prompt_logprobs(prepared)

    def _count(self, last: Chunk | None) -> None:
        c = self.counters
        c["running"] -= 1
        done = last is not None and last.finish_reason != "cancelled"
        c["finished" if done else "cancelled"] += 1
        if last is not None:
            c["completion_tokens"] += last.completion_tokens

    async def stats(self) -> dict:
        """Counters since the replica started: requests decoding now, finished, cancelled (the
        caller went away, or the request failed), completion tokens generated, and
        `engine_running`: the requests the engine itself still holds (0 once every caller is
        answered or gone: a client that left freed its row in the engine)."""
        return {"role": self.role, **self.counters, "engine_running": self.engine.running()}

    async def health(self) -> dict:
        self._refuse_if_dead()
        await self.engine.check_health()
        return {"role": self.role, "model": self.engine.model_id}

    async def check_health(self) -> None:
        self._refuse_if_dead()
        await self.engine.check_health()

    def __del__(self):
        engine = getattr(self, "engine", None)
        if engine is not None:
            engine.shutdown()
