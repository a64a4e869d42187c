"""The asynchronous client, method for method the twin of `clients.client.Client`.

    from clients import AsyncClient
    async with AsyncClient("http://127.0.0.1:8000") as client:
        result = await client.compare("9.11和9.8哪个更大？", params={"max_new_tokens": 64})
        async with await client.compare_stream("Hi", roles=["instruct"]) as events:
            async for event in events:
                print(event.content or "", end="")
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterable, Mapping
from typing import Literal, overload

import httpx
from pydantic import BaseModel

from clients._core import (
    DEFAULT_MAX_RETRIES,
    DEFAULT_TIMEOUT,
    Core,
    Answers,
    Messages,
    Params,
    connection_error,
)
from clients.streams import AsyncStream
from serve.api.openai import ChatCompletionChunk, ChatCompletionResponse, CompletionResponse
from serve.api.params import Effort
from serve.api.protocol import CompareEvent, CompareResponse, HealthResponse, ModelList
from serve.api.votes import Leaderboard, Verdict, VoteAck, VoteRecord


class AsyncClient:
    """The async triserve client. Arguments left out come from TRISERVE_URL / TRISERVE_API_KEY."""

    def __init__(self, base_url: str | None = None, *, api_key: str | None = None,
                 timeout: float | httpx.Timeout = DEFAULT_TIMEOUT,
                 max_retries: int = DEFAULT_MAX_RETRIES,
                 http_client: httpx.AsyncClient | None = None):
        self._core = Core(base_url, api_key, timeout, max_retries)
        self._http = http_client or httpx.AsyncClient(timeout=timeout)
        self.base_url = self._core.base_url

    @property
    def max_retries(self) -> int:
        return self._core.max_retries

    # ---- the API ----------------------------------------------------------------------------

    async def compare(self, prompt: str | None = None, *, messages: Messages | None = None,
                system: str | None = None, roles: Iterable[str] | None = None,
                params: Params = None, overrides: Mapping[str, Params] | None = None,
                reasoning_effort: Effort | None = None,
                history: Mapping[str, Messages] | None = None,
                battle: int | None = None) -> CompareResponse:
        """One prompt (or `messages`) to several roles; `client.compare("Hi").result("base")`.
        `reasoning_effort` (OpenAI's levels, `none` … `max`) is each role's own thinking budget
        for that level (its config's `reasoning_effort`). `history`: role → that role's earlier
        turns (user and assistant messages), for a conversation that goes on (or use
        `Conversation`, which keeps them). `battle=2`: two roles drawn at random, answers named
        A and B until `vote` reveals them (`VoteAck.revealed`)."""
        body = self._core.compare_body(prompt, messages, system, roles, params, overrides, False,
                                       reasoning_effort, history, battle)
        return await self._json("POST", "/v1/compare", body, CompareResponse)

    async def compare_stream(self, prompt: str | None = None, *, messages: Messages | None = None,
                       system: str | None = None, roles: Iterable[str] | None = None,
                       params: Params = None, overrides: Mapping[str, Params] | None = None,
                       reasoning_effort: Effort | None = None,
                       history: Mapping[str, Messages] | None = None,
                       battle: int | None = None) -> AsyncStream[CompareEvent]:
        """Typed `CompareEvent`s as the roles produce them: `delta`s, then one `result` each."""
        body = self._core.compare_body(prompt, messages, system, roles, params, overrides, True,
                                       reasoning_effort, history, battle)
        return AsyncStream(await self._send("POST", "/v1/compare", body, stream=True), CompareEvent)

    @overload
    async def chat(self, role: str, messages: Messages, *, params: Params = ...,
             stream: Literal[False] = ...) -> ChatCompletionResponse: ...
    @overload
    async def chat(self, role: str, messages: Messages, *, params: Params = ...,
             stream: Literal[True]) -> AsyncStream[ChatCompletionChunk]: ...

    async def chat(self, role, messages, *, params=None, stream=False):
        """OpenAI-style chat with one role: `client.chat("instruct", [{"role": "user", …}])`."""
        body = self._core.chat_body(role, messages, params, stream)
        if stream:
            return AsyncStream(await self._send("POST", "/v1/chat/completions", body, stream=True),
                          ChatCompletionChunk)
        return await self._json("POST", "/v1/chat/completions", body, ChatCompletionResponse)

    @overload
    async def complete(self, role: str, prompt: str, *, params: Params = ...,
                 stream: Literal[False] = ...) -> CompletionResponse: ...
    @overload
    async def complete(self, role: str, prompt: str, *, params: Params = ...,
                 stream: Literal[True]) -> AsyncStream[CompletionResponse]: ...

    async def complete(self, role, prompt, *, params=None, stream=False):
        """Raw-text continuation of `prompt` by one role (no chat template)."""
        body = self._core.completion_body(role, prompt, params, stream)
        if stream:
            return AsyncStream(await self._send("POST", "/v1/completions", body, stream=True),
                          CompletionResponse)
        return await self._json("POST", "/v1/completions", body, CompletionResponse)

    async def models(self) -> ModelList:
        """The roles and the model each serves."""
        return await self._json("GET", "/v1/models", None, ModelList)

    async def vote(self, comparison: CompareResponse | str, verdict: Verdict, *,
                   winner: str | None = None, answers: Answers | None = None,
                   shown_order: Iterable[str] | None = None, blind: bool = False,
                   prompt: str | None = None, messages: Messages | None = None,
                   system: str | None = None, params: Params = None,
             conversation_id: str | None = None, turn: int | None = None,
             category: str | None = None) -> VoteAck:
        """Votes on a comparison's answers (see `Client.vote`); the ack comes once stored."""
        body = self._core.vote_body(comparison, verdict, winner, answers, shown_order, blind,
                                    prompt, messages, system, params, conversation_id, turn,
                                    category)
        return await self._json("POST", "/v1/votes", body, VoteAck)

    async def votes(self) -> AsyncIterator[VoteRecord]:
        """Every stored vote, oldest first (`async for record in client.votes(): ...`)."""
        response = await self._send("GET", "/v1/votes", None, stream=True)
        try:
            async for line in response.aiter_lines():
                record = self._core.vote_record(line)
                if record is not None:
                    yield record
        finally:
            await response.aclose()

    async def leaderboard(self, by: Literal["model", "role"] = "model", *, style: bool = True,
                          category: str | None = None,
                          include_flagged: bool = False,
                          first_vote_only: bool = False) -> Leaderboard:
        """Bradley-Terry standings with bootstrap 95% intervals (see `Client.leaderboard`)."""
        return await self._json("GET", self._core.leaderboard_path(by, style, category,
                                                            include_flagged, first_vote_only), None,
                                Leaderboard)

    async def health(self) -> HealthResponse:
        """Each role's readiness. A degraded server (503 with a health body) is an answer here."""
        response = await self._send("GET", "/healthz", None, keep={503})
        if response.status_code == 503:
            health = self._core.degraded(response)
            if health is not None:
                return health
            self._core.raise_for_status(response)
        return self._core.parse(response, HealthResponse)

    # ---- plumbing -----------------------------------------------------------------------------

    async def _json(self, method: str, path: str, body: BaseModel | None, model):
        return self._core.parse(await self._send(method, path, body), model)

    async def _send(self, method: str, path: str, body: BaseModel | None, *, stream: bool = False,
              keep: frozenset[int] | set[int] = frozenset()) -> httpx.Response:
        """Sends with retries; returns a successful response (open when `stream`) or raises."""
        attempt = 0
        while True:
            request = self._core.request(self._http, method, path, body)
            try:
                response = await self._http.send(request, stream=stream)
            except httpx.TransportError as exc:
                delay = self._core.retry.delay(attempt)
                if delay is None:
                    raise connection_error(exc, request) from exc
            else:
                if response.is_success or response.status_code in keep:
                    return response
                await response.aread()
                await response.aclose()
                delay = self._core.retry.delay(attempt, response)
                if delay is None:
                    self._core.raise_for_status(response)
            await asyncio.sleep(delay)
            attempt += 1

    async def close(self) -> None:
        await self._http.aclose()

    async def __aenter__(self) -> AsyncClient:
        return self

    async def __aexit__(self, *exc) -> None:
        await self.close()
