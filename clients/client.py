"""The synchronous client.

    from clients import Client
    with Client("http://127.0.0.1:8000") as client:          # or TRISERVE_URL / TRISERVE_API_KEY
        result = client.compare("9.11和9.8哪个更大？", params={"max_new_tokens": 64})
        print(result.result("reasoning").thinking)
        for event in client.compare_stream("Hi", roles=["instruct"]):
            print(event.content or "", end="")
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator, Mapping
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
from clients.streams import Stream
from serve.api.openai import ChatCompletionChunk, ChatCompletionResponse, CompletionResponse
from serve.api.params import Effort
from serve.api.protocol import CompareEvent, CompareResponse, HealthResponse, ModelList
from serve.api.votes import Leaderboard, Verdict, VoteAck, VoteRecord


class Client:
    """A triserve client. Arguments left out come from TRISERVE_URL / TRISERVE_API_KEY."""

    def __init__(self, base_url: str | None = None, *, api_key: str | None = None,
                 timeout: float | httpx.Timeout = DEFAULT_TIMEOUT,
                 max_retries: int = DEFAULT_MAX_RETRIES,
                 http_client: httpx.Client | None = None):
        self._core = Core(base_url, api_key, timeout, max_retries)
        self._http = http_client or httpx.Client(timeout=timeout)
        self.base_url = self._core.base_url

    @property
    def max_retries(self) -> int:
        return self._core.max_retries

    # ---- the API ----------------------------------------------------------------------------

    def compare(self, prompt: str | None = None, *, messages: Messages | None = None,
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
        return self._json("POST", "/v1/compare", body, CompareResponse)

    def compare_stream(self, prompt: str | None = None, *, messages: Messages | None = None,
                       system: str | None = None, roles: Iterable[str] | None = None,
                       params: Params = None, overrides: Mapping[str, Params] | None = None,
                       reasoning_effort: Effort | None = None,
                       history: Mapping[str, Messages] | None = None,
                       battle: int | None = None) -> Stream[CompareEvent]:
        """Typed `CompareEvent`s as the roles produce them: `delta`s, then one `result` each."""
        body = self._core.compare_body(prompt, messages, system, roles, params, overrides, True,
                                       reasoning_effort, history, battle)
        return Stream(self._send("POST", "/v1/compare", body, stream=True), CompareEvent)

    @overload
    def chat(self, role: str, messages: Messages, *, params: Params = ...,
             stream: Literal[False] = ...) -> ChatCompletionResponse: ...
    @overload
    def chat(self, role: str, messages: Messages, *, params: Params = ...,
             stream: Literal[True]) -> Stream[ChatCompletionChunk]: ...

    def chat(self, role, messages, *, params=None, stream=False):
        """OpenAI-style chat with one role: `client.chat("instruct", [{"role": "user", …}])`."""
        body = self._core.chat_body(role, messages, params, stream)
        if stream:
            return Stream(self._send("POST", "/v1/chat/completions", body, stream=True),
                          ChatCompletionChunk)
        return self._json("POST", "/v1/chat/completions", body, ChatCompletionResponse)

    @overload
    def complete(self, role: str, prompt: str, *, params: Params = ...,
                 stream: Literal[False] = ...) -> CompletionResponse: ...
    @overload
    def complete(self, role: str, prompt: str, *, params: Params = ...,
                 stream: Literal[True]) -> Stream[CompletionResponse]: ...

    def complete(self, role, prompt, *, params=None, stream=False):
        """Raw-text continuation of `prompt` by one role (no chat template)."""
        body = self._core.completion_body(role, prompt, params, stream)
        if stream:
            return Stream(self._send("POST", "/v1/completions", body, stream=True),
                          CompletionResponse)
        return self._json("POST", "/v1/completions", body, CompletionResponse)

    def models(self) -> ModelList:
        """The roles and the model each serves."""
        return self._json("GET", "/v1/models", None, ModelList)

    def vote(self, comparison: CompareResponse | str, verdict: Verdict, *,
             winner: str | None = None, answers: Answers | None = None,
             shown_order: Iterable[str] | None = None, blind: bool = False,
             prompt: str | None = None, messages: Messages | None = None,
             system: str | None = None, params: Params = None,
             conversation_id: str | None = None, turn: int | None = None,
             category: str | None = None) -> VoteAck:
        """Votes on a comparison's answers; the ack comes once the vote is stored. `comparison`
        is a `CompareResponse` (its id and answers are taken) or a comparison id (then pass
        `answers`: role, model, content, thinking). A second vote on one comparison replaces
        the first (`ack.replaced`)::

            result = client.compare("Hi")
            client.vote(result, "winner", winner="reasoning", prompt="Hi")
            client.vote(result, "tie", prompt="Hi")          # changes the vote

        `verdict`: "winner" (name its role in `winner`), "tie" or "all_bad". Raises
        `BadRequestError` (400) for a bad vote; 503s are retried as any other call."""
        body = self._core.vote_body(comparison, verdict, winner, answers, shown_order, blind,
                                    prompt, messages, system, params, conversation_id, turn,
                                    category)
        return self._json("POST", "/v1/votes", body, VoteAck)

    def votes(self) -> Iterator[VoteRecord]:
        """Every stored vote, oldest first, read as the server streams its JSONL export (the
        request is sent at the first `next`)::

            for record in client.votes():
                print(record.comparison_id, record.verdict, record.winner)
        """
        response = self._send("GET", "/v1/votes", None, stream=True)
        try:
            for line in response.iter_lines():
                record = self._core.vote_record(line)
                if record is not None:
                    yield record
        finally:
            response.close()

    def leaderboard(self, by: Literal["model", "role"] = "model", *, style: bool = True,
                    category: str | None = None, include_flagged: bool = False,
                    first_vote_only: bool = False) -> Leaderboard:
        """Bradley-Terry standings of the models (or roles) from all votes, in Elo points with
        bootstrap 95% intervals: `client.leaderboard(by="role").standings[0].name`. `style`:
        with answer length and Markdown held equal (the plain fit in `raw_standings`, the style
        coefficients in `style_coefficients`); `category`: one category's votes alone;
        `include_flagged`: count the votes whose answers named a model (left out by default);
        `first_vote_only`: each voter session's first vote alone."""
        return self._json("GET", self._core.leaderboard_path(by, style, category,
                                                            include_flagged, first_vote_only), None,
                          Leaderboard)

    def health(self) -> HealthResponse:
        """Each role's readiness. A degraded server (503 with a health body) is an answer here."""
        response = self._send("GET", "/healthz", None, keep={503})
        if response.status_code == 503:
            health = self._core.degraded(response)
            if health is not None:
                return health
            self._core.raise_for_status(response)
        return self._core.parse(response, HealthResponse)

    # ---- plumbing -----------------------------------------------------------------------------

    def _json(self, method: str, path: str, body: BaseModel | None, model):
        return self._core.parse(self._send(method, path, body), model)

    def _send(self, method: str, path: str, body: BaseModel | None, *, stream: bool = False,
              keep: frozenset[int] | set[int] = frozenset()) -> httpx.Response:
        """Sends with retries; returns a successful response (open when `stream`) or raises."""
        attempt = 0
        while True:
            request = self._core.request(self._http, method, path, body)
            try:
                response = self._http.send(request, stream=stream)
            except httpx.TransportError as exc:
                delay = self._core.retry.delay(attempt)
                if delay is None:
                    raise connection_error(exc, request) from exc
            else:
                if response.is_success or response.status_code in keep:
                    return response
                response.read()
                response.close()
                delay = self._core.retry.delay(attempt, response)
                if delay is None:
                    self._core.raise_for_status(response)
            time.sleep(delay)
            attempt += 1

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
