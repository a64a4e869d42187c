"""One timed streaming request to a triserve route, as `triserve bench` sends it.

    target = Target("chat", role="instruct", params=GenerationParams(max_new_tokens=64))
    async with httpx.AsyncClient() as http:
        outcome = await target.send(http, core, prompt)
    outcome.ttft, outcome.e2e, outcome.output_tokens, outcome.error

The bodies are the SDK's own (`clients._core.Core`), always streamed, so that time to first
token and the gaps between tokens can be seen. Nothing is retried: a benchmark counts a refusal,
it does not hide it. Token counts come from the server's `usage` (the chat and completion
streams are asked for a usage frame; a comparison's `result` events carry one per role); a server
that sends none has its text frames counted instead (`counted` says so).
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from typing import Literal

import httpx

from clients._core import Core, retry_after
from clients.bench.prompts import BenchPrompt
from clients.sse import DONE, asse_data, frame_error
from serve.api.openai import StreamOptions
from serve.api.protocol import GenerationParams

Endpoint = Literal["compare", "chat", "completions"]
PATHS = {"compare": "/v1/compare", "chat": "/v1/chat/completions",
         "completions": "/v1/completions"}
REJECTED = "503"  # back-pressure: the server said "not now", counted apart from failures


@dataclass
class Channel:
    """One stream of tokens: the only one of a chat or completion, or one role of a comparison."""

    times: list[float] = field(default_factory=list)  # arrival of each frame that held text
    usage_tokens: int | None = None

    @property
    def tokens(self) -> int:
        return self.usage_tokens if self.usage_tokens is not None else len(self.times)


@dataclass
class Outcome:
    """What one request did. Times are seconds on the `time.perf_counter` clock."""

    prompt: str
    start: float
    end: float = 0.0
    status: int | None = None
    error: str | None = None  # None: it worked; else an HTTP status, "timeout", "stream", ...
    channels: dict[str, Channel] = field(default_factory=dict)
    prompt_tokens: int = 0
    retry_after: float | None = None  # what a refusal asked for (Retry-After), in seconds

    @property
    def ok(self) -> bool:
        return self.error is None

    @property
    def e2e(self) -> float:
        return self.end - self.start

    @property
    def ttft(self) -> float | None:
        firsts = [c.times[0] for c in self.channels.values() if c.times]
        return min(firsts) - self.start if firsts else None

    @property
    def output_tokens(self) -> int:
        return sum(c.tokens for c in self.channels.values())

    @property
    def counted(self) -> bool:
        return any(c.usage_tokens is None for c in self.channels.values())

    @property
    def tpot(self) -> float | None:
        """Time per output token after the first, averaged over the channels (roles) that made
        more than one token: the decode speed one reader of one column sees."""
        per = [(c.times[-1] - c.times[0]) / (c.tokens - 1)
               for c in self.channels.values() if c.tokens > 1 and len(c.times) > 1]
        return sum(per) / len(per) if per else None

    @property
    def itl(self) -> list[float]:
        """Gaps between successive text frames of each channel (never across roles)."""
        return [b - a for c in self.channels.values() for a, b in zip(c.times, c.times[1:])]


class Target:
    """A route, a role (chat, completions) or roles (compare), and the generation parameters."""

    def __init__(self, endpoint: Endpoint, role: str | None = None,
                 roles: list[str] | None = None, params: GenerationParams | None = None):
        self.endpoint = endpoint
        self.role = role or ("base" if endpoint == "completions" else "instruct")
        self.roles = roles
        self.params = params or GenerationParams()
        self.path = PATHS[endpoint]
        self._bodies: dict[str, bytes] = {}

    def body(self, prompt: BenchPrompt) -> bytes:
        if prompt.id not in self._bodies:  # built once per prompt, not on the hot path
            self._bodies[prompt.id] = self._build(prompt).model_dump_json(
                exclude_none=True).encode()
        return self._bodies[prompt.id]

    def _build(self, prompt: BenchPrompt):
        usage = {"stream_options": StreamOptions(include_usage=True)}
        if self.endpoint == "compare":
            return Core.compare_body(prompt.text, None, prompt.system, self.roles, self.params,
                                     None, True)
        if self.endpoint == "chat":
            messages = ([{"role": "system", "content": prompt.system}] if prompt.system else [])
            messages.append({"role": "user", "content": prompt.text})
            return Core.chat_body(self.role, messages, self.params, True).model_copy(update=usage)
        return Core.completion_body(self.role, prompt.text, self.params,
                                    True).model_copy(update=usage)

    async def send(self, http: httpx.AsyncClient, core: Core, prompt: BenchPrompt) -> Outcome:
        out = Outcome(prompt.id, time.perf_counter())
        headers = {**core.headers(), "content-type": "application/json",
                   "accept": "text/event-stream"}
        try:
            async with http.stream("POST", core.base_url + self.path, content=self.body(prompt),
                                   headers=headers) as response:
                out.status = response.status_code
                if response.status_code >= 400:
                    await response.aread()
                    out.error = str(response.status_code)
                    out.retry_after = retry_after(response.headers)
                else:
                    await self._read(response, out)
        except httpx.TimeoutException:
            out.error = "timeout"
        except httpx.TransportError:
            out.error = "connection"
        out.end = time.perf_counter()
        return out

    async def _read(self, response: httpx.Response, out: Outcome) -> None:
        async for data in asse_data(response.aiter_lines()):
            if data == DONE:
                return
            now = time.perf_counter()
            try:
                frame = json.loads(data)
            except ValueError:
                out.error = "bad frame"
                return
            if frame_error(frame):  # failed after the 200 was sent
                out.error = "stream"
                return
            self._frame(frame, now, out)
        out.error = out.error or "no [DONE]"  # the stream was cut short

    def _frame(self, frame: dict, now: float, out: Outcome) -> None:
        if self.endpoint == "compare":
            ch = out.channels.setdefault(frame.get("role", "?"), Channel())
            if frame.get("type") == "delta":
                if frame.get("content") or frame.get("thinking"):
                    ch.times.append(now)
            elif frame.get("type") == "result":
                result = frame.get("result") or {}
                if isinstance(result.get("error"), dict):  # one role failed inside the comparison
                    out.error = f"role:{result['error'].get('code') or 'error'}"
                _usage(result.get("usage"), ch, out)
            return
        ch = out.channels.setdefault(self.role, Channel())
        for choice in frame.get("choices") or []:
            delta = choice.get("delta") or {}
            if choice.get("text") or delta.get("content") or delta.get("reasoning_content"):
                ch.times.append(now)
        _usage(frame.get("usage"), ch, out)


def _usage(usage: dict | None, ch: Channel, out: Outcome) -> None:
    if usage:
        ch.usage_tokens = usage.get("completion_tokens", 0)
        out.prompt_tokens += usage.get("prompt_tokens", 0)
