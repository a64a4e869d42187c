"""`/v1/compare`: one input to several roles at once, concurrently; one role's failure is only
that role's error."""

from __future__ import annotations

import asyncio
import time
from typing import AsyncIterator

from serve.ingress.role_client import RoleCaller
from serve.generation import Accumulator, Completion, GenerationRequest
from serve.ingress.http_errors import classify, error_info
from serve.metrics import ingress_metrics
from serve.api.protocol import CompareEvent, CompareRequest, GenerationParams, RoleResult, Usage
from serve.ingress.sse import DONE, sse


def role_requests(body: CompareRequest, roles: list[str], rid: str) -> dict[str, GenerationRequest]:
    base = body.params.model_dump(exclude_none=True)
    out = {}
    for role in roles:
        override = body.overrides.get(role)
        params = {**base, **(override.model_dump(exclude_none=True) if override else {})}
        out[role] = GenerationRequest(
            request_id=f"{rid}-{role}",
            prompt=body.prompt,
            messages=[m.for_template() for m in body.messages] if body.messages else None,
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
        usage=Usage.of(c.prompt_tokens, c.completion_tokens, c.thinking_tokens),
        latency_s=round(latency_s, 4),
        ttft_s=None if c.ttft_s is None else round(c.ttft_s, 4),
    )


def failed_result(role: str, model: str, exc: BaseException, rid: str, latency_s: float) -> RoleResult:
    err = classify(exc)
    return RoleResult(
        role=role,
        model=model,
        finish_reason="error",
        latency_s=round(latency_s, 4),
        error=error_info(err, rid),
    )


class Comparison:
    """One comparison: the same input to several roles; results or SSE events."""

    def __init__(self, callers: dict[str, RoleCaller], models: dict[str, str],
                 reqs: dict[str, GenerationRequest], cid: str, rid: str):
        self.callers, self.models, self.reqs = callers, models, reqs
        self.cid, self.rid = cid, rid

    def _failed(self, role: str, exc: BaseException, elapsed: float) -> RoleResult:
        result = failed_result(role, self.models[role], exc, self.rid, elapsed)
        ingress_metrics().role_errors.inc(tags={"role": role, "code": result.error.code or ""})
        return result

    async def results(self) -> list[RoleResult]:
        """Every role at once. Raises only when every role failed: then there is nothing to
        compare, and the status (400, 503, ...) tells the client what to do."""

        async def one(role: str):
            start = time.perf_counter()
            try:
                c = await self.callers[role].complete(self.reqs[role])
                return role_result(role, self.models[role], c, time.perf_counter() - start), None
            except Exception as exc:
                err = classify(exc)
                return self._failed(role, err, time.perf_counter() - start), err

        outcomes = await asyncio.gather(*(one(role) for role in self.reqs))
        if all(err for _, err in outcomes):
            raise outcomes[0][1]
        return [result for result, _ in outcomes]

    async def open_stream(self) -> AsyncIterator[str]:
        """Starts every role; returns the SSE frames once one role has accepted the request.
        Raises when every role refused it (so the client gets a status, not a 200 stream)."""
        opening = {role: asyncio.create_task(self.callers[role].open_stream(req))
                   for role, req in self.reqs.items()}
        pending = set(opening.values())
        while pending:
            done, pending = await asyncio.wait(pending, return_when=asyncio.FIRST_COMPLETED)
            if any(not t.exception() for t in done):
                break
        else:
            raise classify(next(iter(opening.values())).exception())
        return self._events(opening)

    async def _events(self, opening: dict[str, asyncio.Task]) -> AsyncIterator[str]:
        """SSE frames: every role's deltas interleaved as they come, one `result` per role, [DONE]."""
        events: asyncio.Queue[CompareEvent] = asyncio.Queue()
        start = time.perf_counter()

        async def pump(role: str) -> None:
            acc = Accumulator(start)
            model = self.models[role]
            try:
                async for chunk in await opening[role]:
                    acc.add(chunk, time.perf_counter())
                    if chunk.content or chunk.thinking:
                        await events.put(CompareEvent(
                            id=self.cid, role=role, type="delta",
                            content=chunk.content or None, thinking=chunk.thinking or None,
                        ))
                now = time.perf_counter()
                result = role_result(role, model, acc.completion(model, now), now - start)
            except Exception as exc:
                result = self._failed(role, exc, time.perf_counter() - start)
            await events.put(CompareEvent(id=self.cid, role=role, type="result", result=result))

        tasks = [asyncio.create_task(pump(role)) for role in opening]
        try:
            remaining = len(tasks)
            while remaining:
                event = await events.get()
                remaining -= event.type == "result"
                yield sse(event, exclude_none=event.type == "delta")
            yield DONE
        finally:
            for task in [*tasks, *opening.values()]:
                task.cancel()  # the client went away: stop every role's generation
