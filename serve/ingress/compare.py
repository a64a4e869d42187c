"""`/v1/compare`: one input to several roles at once, concurrently; one role's failure is only
that role's error."""

from __future__ import annotations

import asyncio
import re
import time
from contextlib import aclosing
from typing import AsyncIterator

from serve.api.protocol import (CompareEvent, CompareRequest, GenerationParams, Message,
                                RoleResult, Usage)
from serve.config import PriceConfig
from serve.errors import InvalidRequest, Unavailable
from serve.generation import Accumulator, Completion, GenerationRequest, thinking_budget
from serve.ingress.fanout import END, interleaved
from serve.ingress.http_errors import error_info
from serve.ingress.ray_errors import classify
from serve.ingress.roles import Role
from serve.ingress.sse import DONE, sse
from serve.metrics import ingress_metrics


# A reasoning model's thinking, should a client leave it in an earlier answer's content.
_THINKING = re.compile(r"<think>.*?</think>\s*", re.DOTALL)


def history_document(history: list[Message], prompt: str) -> str:
    """A raw-format (base) role's conversation as the one text it continues: each user turn,
    then the model's continuation of it as is, turns a blank line apart, this turn's prompt
    last. System and tool messages have no place in a continuation and are left out.

        [user "Once upon a time", assistant " there was a king."], "The king said"
        → "Once upon a time there was a king.\n\nThe king said"
    """
    doc = ""
    for m in history:
        if m.role == "user":
            doc += ("\n\n" if doc else "") + (m.content or "")
        elif m.role == "assistant":
            doc += m.content or ""
    return doc + ("\n\n" if doc else "") + prompt


def _thread(role: Role, history: list[Message], body: CompareRequest) -> dict:
    """The role's input for this turn: `prompt` or `messages` with its own history first."""
    if not history:
        return {"prompt": body.prompt, "messages": [m.for_template() for m in body.messages]
                if body.messages else None}
    if body.prompt is not None and role.config.prompt_format == "raw":
        return {"prompt": history_document(history, body.prompt), "messages": None}
    earlier = []
    for m in history:
        msg = m.for_template()  # `reasoning_content` is not carried: thinking stays out
        if m.role == "assistant":
            msg["content"] = _THINKING.sub("", msg["content"])
        earlier.append(msg)
    now = ([m.for_template() for m in body.messages] if body.messages
           else [{"role": "user", "content": body.prompt}])
    return {"prompt": None, "messages": earlier + now}


def role_requests(body: CompareRequest, roles: list[Role], rid: str) -> dict[str, GenerationRequest]:
    """Each role's request: its own `history` before this turn's input (`_thread`), `params`
    with the role's `overrides` laid over them, and the thinking budget of `reasoning_effort` in
    that role's config unless the parameters name one. Raises `InvalidRequest` (param
    `history`) for a history of a role not asked."""
    stray = sorted(set(body.history) - {r.name for r in roles})
    if stray:
        raise InvalidRequest(f"history for roles not asked: {stray}", param="history")
    base = body.params.model_dump(exclude_none=True)
    out = {}
    for role in roles:
        override = body.overrides.get(role.name)
        params = GenerationParams(
            **{**base, **(override.model_dump(exclude_none=True) if override else {})})
        out[role.name] = GenerationRequest(
            request_id=f"{rid}-{role.name}",
            **_thread(role, body.history.get(role.name, []), body),
            system=body.system,
            params=thinking_budget(params, role.config, body.reasoning_effort,
                                   params.max_thinking_tokens),
        )
    return out


def role_result(role: str, model: str, c: Completion, latency_s: float,
                price: PriceConfig | None = None) -> RoleResult:
    """A finished answer as the API returns it, with its `cost_usd` at `price` when given."""
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
        cost_usd=None if price is None else round(price.cost(c.prompt_tokens, c.completion_tokens), 8),
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
    """One comparison: the same input to several roles; results or SSE events.

    A battle (`labels`: role → letter) shows each answer under its letter alone: the role, the
    model and any error text that could name them stay on the server until a vote reveals them
    (serve/ingress/votes_routes.py)."""

    def __init__(self, roles: dict[str, Role], reqs: dict[str, GenerationRequest], cid: str,
                 rid: str, labels: dict[str, str] | None = None):
        self.roles, self.reqs = roles, reqs
        self.cid, self.rid = cid, rid
        self.labels = labels or {}

    def _failed(self, role: str, exc: BaseException, elapsed: float) -> RoleResult:
        result = failed_result(role, self.roles[role].model, exc, self.rid, elapsed)
        ingress_metrics().role_errors.inc(tags={"role": role, "code": result.error.code or ""})
        return result

    def _shown(self, result: RoleResult) -> RoleResult:
        """The result as the client may see it: in a battle, under its letter, nameless."""
        letter = self.labels.get(result.role)
        if letter is None:
            return result
        error = result.error and result.error.model_copy(
            update={"message": f"answer {letter} failed ({result.error.code or 'error'})"})
        return result.model_copy(update={"role": letter, "model": "", "error": error})

    def _refused(self, exc: BaseException) -> BaseException:
        """Every role refused: the error, without the role's name in a battle."""
        if not self.labels:
            return exc
        return Unavailable("the battle's models cannot answer now; retry shortly",
                           code=getattr(exc, "code", None) or "no_replica")

    async def results(self) -> list[RoleResult]:
        """Every role at once. Raises only when every role failed: then there is nothing to
        compare, and the status (400, 503, ...) tells the client what to do."""

        async def one(role: str):
            start = time.perf_counter()
            try:
                c = await self.roles[role].caller.complete(self.reqs[role])
                r = self.roles[role]
                return role_result(role, r.model, c, time.perf_counter() - start,
                                   r.config.price), None
            except Exception as exc:
                err = classify(exc)
                return self._failed(role, err, time.perf_counter() - start), err

        outcomes = await asyncio.gather(*(one(role) for role in self.reqs))
        if all(err for _, err in outcomes):
            raise self._refused(outcomes[0][1])
        return [self._shown(result) for result, _ in outcomes]

    async def open_stream(self) -> AsyncIterator[str]:
        """Starts every role; returns the SSE frames once one role has accepted the request.
        Raises when every role refused it (so the client gets a status, not a 200 stream)."""
        opening = {role: asyncio.create_task(self.roles[role].caller.open_stream(req))
                   for role, req in self.reqs.items()}
        pending = set(opening.values())
        while pending:
            done, pending = await asyncio.wait(pending, return_when=asyncio.FIRST_COMPLETED)
            if any(not t.exception() for t in done):
                break
        else:
            raise self._refused(classify(next(iter(opening.values())).exception()))
        return self._events(opening)

    async def _events(self, opening: dict[str, asyncio.Task]) -> AsyncIterator[str]:
        """SSE frames: every role's deltas interleaved as they come, one `result` per role, [DONE]."""
        start = time.perf_counter()
        accs = {role: Accumulator(start) for role in opening}

        async def stream(role: str):
            async for chunk in await opening[role]:
                yield chunk

        try:
            async with aclosing(interleaved({role: stream(role) for role in opening})) as items:
                async for role, item in items:
                    now = time.perf_counter()
                    if isinstance(item, Exception):
                        result = self._failed(role, item, now - start)
                    elif item is END:
                        r = self.roles[role]
                        result = role_result(role, r.model, accs[role].completion(r.model, now),
                                             now - start, r.config.price)
                    else:
                        accs[role].add(item, now)
                        if item.content or item.thinking:
                            event = CompareEvent(id=self.cid, role=self.labels.get(role, role),
                                                 type="delta",
                                                 content=item.content or None,
                                                 thinking=item.thinking or None)
                            yield sse(event, exclude_none=True)
                        continue
                    shown = self._shown(result)
                    yield sse(CompareEvent(id=self.cid, role=shown.role, type="result",
                                           result=shown), exclude_none=False)
            yield DONE
        finally:
            for task in opening.values():
                task.cancel()  # the client went away: stop every role's generation
