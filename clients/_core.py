"""What `Client` and `AsyncClient` share: settings, request bodies, the retry policy, parsing.

Only the I/O differs between the two clients (httpx.Client vs httpx.AsyncClient, time.sleep vs
asyncio.sleep), so everything that decides *what* to send and *whether* to retry lives here.
"""

from __future__ import annotations

import email.utils
import os
import random
import time
from collections.abc import Iterable, Mapping
from urllib.parse import urlencode
from typing import Any, TypeVar

import httpx
from pydantic import BaseModel

from clients.errors import APIConnectionError, APITimeoutError, status_error
from serve.api.openai import ChatCompletionRequest, CompletionRequest
from serve.api.protocol import (
    CompareRequest,
    CompareResponse,
    GenerationParams,
    HealthResponse,
    Message,
)
from serve.api.votes import VotedAnswer, VoteRecord, VoteRequest

DEFAULT_URL = "http://127.0.0.1:8000"
DEFAULT_TIMEOUT = 120.0
DEFAULT_MAX_RETRIES = 2
INITIAL_RETRY_DELAY = 0.5
MAX_RETRY_DELAY = 8.0
# A server may ask for a long wait; a client that honoured any value could hang for an hour, so
# a longer `Retry-After` than this ends the retries (the error is raised at once).
MAX_RETRY_AFTER = 30.0
RETRY_STATUSES = frozenset({408, 429}) | frozenset(range(500, 600))

M = TypeVar("M", bound=BaseModel)
Params = GenerationParams | Mapping[str, Any] | None
Messages = Iterable[Message | Mapping[str, str]]
Answers = Iterable[VotedAnswer | Mapping[str, Any]]


class RetryPolicy:
    """Whether and when to send a failed request again, as openai-python decides: the server's
    `x-should-retry: true|false` first; else a retryable status (408, 429, 5xx). The wait is the
    server's `Retry-After` (seconds or a date) where it gives one — a longer wait than
    `retry_after_cap` is not retried at all, the error is the answer — else exponential backoff
    with full jitter."""

    def __init__(self, max_retries: int, initial: float = INITIAL_RETRY_DELAY,
                 cap: float = MAX_RETRY_DELAY, retry_after_cap: float = MAX_RETRY_AFTER):
        self.max_retries = max_retries
        self.initial, self.cap, self.retry_after_cap = initial, cap, retry_after_cap

    def delay(self, attempt: int, response: httpx.Response | None = None) -> float | None:
        """Seconds to wait before retry number `attempt + 1`, or None: do not retry."""
        if attempt >= self.max_retries:
            return None
        if response is not None:
            advice = response.headers.get("x-should-retry")
            if advice == "false" or (advice != "true" and
                                     response.status_code not in RETRY_STATUSES):
                return None
            asked = retry_after(response.headers)
            if asked is not None:
                return asked if asked <= self.retry_after_cap else None
        # Full jitter (AWS architecture blog): spreads retries of many clients over the window.
        return random.uniform(0, min(self.cap, self.initial * 2 ** attempt))


def retry_after(headers: Mapping[str, str]) -> float | None:
    """`Retry-After-Ms`, or `Retry-After` as seconds or an HTTP date; None when absent or bad."""
    try:
        return max(0.0, float(headers["retry-after-ms"]) / 1000)
    except (KeyError, ValueError):
        pass
    value = headers.get("retry-after")
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


def connection_error(exc: httpx.TransportError, request: httpx.Request) -> APIConnectionError:
    if isinstance(exc, httpx.TimeoutException):
        return APITimeoutError(request=request)
    return APIConnectionError(request=request)


class Core:
    """Settings and request building, shared by the sync and the async client."""

    def __init__(self, base_url: str | None, api_key: str | None, timeout: float | httpx.Timeout,
                 max_retries: int):
        url = base_url or os.environ.get("TRISERVE_URL") or DEFAULT_URL
        self.base_url = url.rstrip("/")
        self.api_key = api_key if api_key is not None else os.environ.get("TRISERVE_API_KEY")
        self.timeout = timeout
        self.retry = RetryPolicy(max_retries)

    @property
    def max_retries(self) -> int:
        return self.retry.max_retries

    def headers(self) -> dict[str, str]:
        h = {"accept": "application/json", "user-agent": "triserve-python"}
        if self.api_key:
            h["authorization"] = f"Bearer {self.api_key}"
        return h

    def request(self, http: httpx.Client | httpx.AsyncClient, method: str, path: str,
                body: BaseModel | None) -> httpx.Request:
        # Built from the wire model (exclude_none: unset fields take the server's defaults).
        # by_alias: the wire names (`response_format.json_schema.schema`, not `schema_`).
        content = body.model_dump_json(exclude_none=True, by_alias=True) if body is not None else None
        headers = self.headers()
        if content is not None:
            headers["content-type"] = "application/json"
        return http.build_request(method, self.base_url + path, content=content, headers=headers)

    # ---- bodies ---------------------------------------------------------------------------------

    @staticmethod
    def compare_body(prompt: str | None, messages: Messages | None, system: str | None,
                     roles: Iterable[str] | None, params: Params,
                     overrides: Mapping[str, Params] | None, stream: bool,
                     reasoning_effort: str | None = None,
                     history: Mapping[str, Messages] | None = None,
                     battle: int | None = None) -> CompareRequest:
        return CompareRequest(
            battle=battle,
            history={role: _messages(m) for role, m in (history or {}).items()},
            prompt=prompt,
            messages=_messages(messages) if messages is not None else None,
            system=system,
            roles=list(roles) if roles is not None else None,
            params=as_params(params),
            overrides={role: as_params(p) for role, p in (overrides or {}).items()},
            reasoning_effort=reasoning_effort,
            stream=stream,
        )

    @staticmethod
    def chat_body(role: str, messages: Messages, params: Params,
                  stream: bool) -> ChatCompletionRequest:
        p = as_params(params)
        thinking = {"chat_template_kwargs": {"enable_thinking": p.enable_thinking}} \
            if p.enable_thinking is not None else {}
        return ChatCompletionRequest(model=role, messages=_messages(messages), stream=stream,
                                     max_completion_tokens=p.max_new_tokens,
                                     thinking_token_budget=p.max_thinking_tokens,
                                     **_sampling(p, ChatCompletionRequest), **thinking)

    @staticmethod
    def completion_body(role: str, prompt: str, params: Params, stream: bool) -> CompletionRequest:
        p = as_params(params)
        logprobs = {"logprobs": p.top_logprobs or 0} if p.logprobs else {}
        return CompletionRequest(model=role, prompt=prompt, stream=stream,
                                 max_tokens=p.max_new_tokens,
                                 thinking_token_budget=p.max_thinking_tokens,
                                 **_sampling(p, CompletionRequest), **logprobs)

    @staticmethod
    def leaderboard_path(by: str, style: bool, category: str | None,
                         include_flagged: bool = False, first_vote_only: bool = False) -> str:
        """`/v1/leaderboard` with its query: `by`, `style`, `category` when given,
        `include_flagged` and `first_vote_only` when true."""
        query = {"by": by, "style": "true" if style else "false"}
        if category is not None:
            query["category"] = category
        if include_flagged:
            query["include_flagged"] = "true"
        if first_vote_only:
            query["first_vote_only"] = "true"
        return "/v1/leaderboard?" + urlencode(query)

    @staticmethod
    def vote_body(comparison: CompareResponse | str, verdict: str, winner: str | None,
                  answers: Answers | None, shown_order: Iterable[str] | None, blind: bool,
                  prompt: str | None, messages: Messages | None, system: str | None,
                  params: Params, conversation_id: str | None = None,
                  turn: int | None = None, category: str | None = None) -> VoteRequest:
        """A `VoteRequest`; a `CompareResponse` gives the comparison id and, unless `answers` is
        given, the answers (role, model, content, thinking) of its roles that did not fail.
        Raises pydantic's `ValidationError` for an inconsistent vote (e.g. a winner not shown)."""
        if isinstance(comparison, CompareResponse):
            cid = comparison.id
            if answers is None:
                answers = [VotedAnswer(role=r.role, model=r.model, content=r.content,
                                       thinking=r.thinking)
                           for r in comparison.results if r.error is None]
        else:
            cid = comparison
        if answers is None:
            raise ValueError("answers are needed when voting by comparison id")
        voted = [a if isinstance(a, VotedAnswer) else VotedAnswer.model_validate(dict(a))
                 for a in answers]
        return VoteRequest(
            comparison_id=cid, prompt=prompt, system=system, verdict=verdict, winner=winner,
            messages=_messages(messages) if messages is not None else None,
            params=as_params(params).model_dump(exclude_none=True), answers=voted, blind=blind,
            shown_order=list(shown_order) if shown_order is not None else [a.role for a in voted],
            conversation_id=conversation_id, turn=turn, category=category)

    # ---- responses ------------------------------------------------------------------------------

    @staticmethod
    def vote_record(line: str | bytes) -> VoteRecord | None:
        """One line of `GET /v1/votes`; None for a blank line."""
        return VoteRecord.model_validate_json(line) if line.strip() else None

    @staticmethod
    def parse(response: httpx.Response, model: type[M]) -> M:
        return model.model_validate_json(response.content)

    @staticmethod
    def degraded(response: httpx.Response) -> HealthResponse | None:
        """A 503 from /healthz carries the per-role report; any other 503 body is an error."""
        try:
            return HealthResponse.model_validate_json(response.content)
        except ValueError:
            return None

    @staticmethod
    def raise_for_status(response: httpx.Response) -> None:
        """Only call on a read response (the body makes the error's message)."""
        if response.is_error:
            raise status_error(response)


def as_params(params: Params) -> GenerationParams:
    """`params` (None, a dict or `GenerationParams`) as `GenerationParams`; raises pydantic's
    `ValidationError` naming a bad field."""
    if params is None:
        return GenerationParams()
    if isinstance(params, GenerationParams):
        return params
    return GenerationParams.model_validate(dict(params))


# The sampling parameters that an OpenAI request takes under the same name as GenerationParams,
# read off the two models (never listed here): everything but the token budget (`max_tokens` /
# `max_completion_tokens` there), `enable_thinking` (a chat template argument there) and, on
# /v1/completions, `logprobs` (a count there, a flag here).
_OWN_SHAPE = {ChatCompletionRequest: {"max_new_tokens", "enable_thinking"},
              CompletionRequest: {"max_new_tokens", "enable_thinking", "logprobs"}}
_SHARED = {
    request: tuple(name for name in GenerationParams.model_fields
                   if name in request.model_fields and name not in own)
    for request, own in _OWN_SHAPE.items()
}


def _sampling(p: GenerationParams, request: type[BaseModel]) -> dict:
    return {k: getattr(p, k) for k in _SHARED[request] if getattr(p, k) is not None}


def _messages(messages: Messages) -> list[Message]:
    return [m if isinstance(m, Message) else Message.model_validate(dict(m)) for m in messages]
