"""`/v1/compare`: one input to several roles at once, concurrently; one role's failure is only
that role's error."""

from __future__ import annotations

import asyncio
import time
from typing import AsyncIterator

from serve.calls import RoleCaller
from serve.errors import TriserveError
from serve.generation import Accumulator, Completion, GenerationRequest
from serve.http_errors import classify, error_info
from serve.protocol import CompareEvent, CompareRequest, GenerationParams, RoleResult, Usage
from serve.sse import DONE, sse


def role_requests(body: CompareRequest, roles: list[str], rid: str) -> dict[str, GenerationRequest]:
    base = body.params.model_dump(exclude_none=True)
    out = {}
    for role in roles:
        override = body.overrides.get(role)
        params = {**base, **(override.model_dump(exclude_none=True) if override else {})}
        out[role] = GenerationRequest(
            request_id=f"{rid}-{role}",
            prompt=body.prompt,
            messages=[m.model_dump() for m in body.messages] if body.messages else None,
            system=body.system,
            params=GenerationParams(**params),
        )
    return out


def role_result(role: str, model: str, c: Completion, latency_s: float) -> RoleResult:
    return RoleResult(
        role=role,
        model=c.model or model,
        response=c.response,
        content=c.content,
        thinking=c.thinking,
        finish_reason=c.finish_reason,
        usage=Usage(
            prompt_tokens=c.prompt_tokens,
            completion_tokens=c.completion_tokens,
            total_tokens=c.prompt_tokens + c.completion_tokens,
        ),
        latency_s=round(latency_s, 4),
        ttft_s=None if c.ttft_s is None else round(c.ttft_s, 4),
    )


def failed_result(role: str, model: str, exc: BaseException, rid: str, latency_s: float) -> RoleResult:
    err = exc if isinstance(exc, TriserveError) else classify(exc)
    return RoleResult(
        role=role,
        model=model,
        finish_reason="error",
        latency_s=round(latency_s, 4),
        error=error_info(err, rid),
    )


async def compare_once(
    callers: dict[str, RoleCaller], models: dict[str, str], reqs: dict[str, GenerationRequest], rid: str
) -> list[RoleResult]:
    async def one(role: str) -> RoleResult:
        start = time.perf_counter()
        try:
            c = await callers[role].complete(reqs[role])
            return role_result(role, models[role], c, time.perf_counter() - start)
        except Exception as exc:
            return failed_result(role, models[role], exc, rid, time.perf_counter() - start)

    return list(await asyncio.gather(*(one(role) for role in reqs)))


async def compare_stream(
    callers: dict[str, RoleCaller],
    models: dict[str, str],
    reqs: dict[str, GenerationRequest],
    rid: str,
) -> AsyncIterator[str]:
    """SSE frames: every role's deltas interleaved as they come, one `result` per role, [DONE]."""
    events: asyncio.Queue[CompareEvent] = asyncio.Queue()

    async def pump(role: str) -> None:
        start = time.perf_counter()
        acc = Accumulator(start)
        try:
            stream = await callers[role].open_stream(reqs[role])
            async for chunk in stream:
                acc.add(chunk, time.perf_counter())
                if chunk.content or chunk.thinking:
                    await events.put(CompareEvent(
                        id=rid, role=role, type="delta",
                        content=chunk.content or None, thinking=chunk.thinking or None,
                    ))
            now = time.perf_counter()
            result = role_result(role, models[role], acc.completion(models[role], now), now - start)
        except Exception as exc:
            result = failed_result(role, models[role], exc, rid, time.perf_counter() - start)
        await events.put(CompareEvent(id=rid, role=role, type="result", result=result))

    tasks = [asyncio.create_task(pump(role)) for role in reqs]
    try:
        remaining = len(tasks)
        while remaining:
            event = await events.get()
            remaining -= event.type == "result"
            yield sse(event, exclude_none=event.type == "delta")
        yield DONE
    finally:
        for task in tasks:
            task.cancel()  # the client went away: stop every role's generation
