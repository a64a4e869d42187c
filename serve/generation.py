"""What crosses the engine seam: requests, resolved sampling parameters and output chunks, and
how a request's parameters become the sampling parameters a role runs (`resolve_sampling`,
`thinking_budget`), which the ingress checks before it calls a role and the engines apply.

Plain dataclasses (no torch, no ray) so that they pickle cheaply between ingress and replicas.
"""

from __future__ import annotations

import threading
from typing import AsyncIterator, Protocol
from dataclasses import dataclass, field

from serve.api.protocol import GenerationParams
from serve.config import RoleConfig
from serve.errors import InvalidRequest


@dataclass
class GenerationRequest:
    """A request as the ingress hands it to a model deployment: `prompt` (a string, or token ids
    on /v1/completions) or `messages`, with the tools and template variables a chat asks."""

    request_id: str
    prompt: str | list[int] | None = None
    messages: list[dict] | None = None
    system: str | None = None
    raw: bool = False  # /v1/completions: continue the prompt as is, whatever the role's format
    params: GenerationParams = field(default_factory=GenerationParams)
    tools: list[dict] | None = None  # rendered by the chat template; calls parsed from the output
    parse_tool_calls: bool = True  # False: a forced tool_choice, read by the ingress from JSON
    template_kwargs: dict = field(default_factory=dict)  # chat_template_kwargs but enable_thinking
    echo: bool = False  # /v1/completions: the prompt's text comes first in the output
    score_only: bool = False  # /v1/completions `echo` with `max_tokens: 0`: nothing generated


@dataclass(frozen=True)
class SamplingParams:
    """Concrete parameters: the request's values laid over the role's defaults, checked against
    the model (`resolve_sampling` below; logit_bias ids by the prompt builder).

    `logprobs`: None = none returned; k ≥ 0 = the chosen token's log-probability and the k most
    likely alternatives. `constraint`: None, ("json_object", None) or ("json_schema", schema)."""

    max_new_tokens: int
    temperature: float = 0.0
    top_p: float = 1.0
    top_k: int = 0
    min_p: float = 0.0
    repetition_penalty: float = 1.0
    presence_penalty: float = 0.0
    frequency_penalty: float = 0.0
    logit_bias: tuple[tuple[int, float], ...] = ()
    stop: tuple[str, ...] = ()
    seed: int | None = None
    min_tokens: int = 0
    ignore_eos: bool = False
    include_stop_str_in_output: bool = False
    logprobs: int | None = None
    constraint: tuple[str, dict | None] | None = None
    enable_thinking: bool = True
    max_thinking_tokens: int | None = None  # None: no budget; 0 never reaches an engine (off)

    @property
    def greedy(self) -> bool:
        return self.temperature == 0.0


@dataclass
class PreparedRequest:
    """A request the engine has rendered and tokenized, ready to join a batch."""

    request_id: str
    prompt_ids: list[int]
    sampling: SamplingParams
    thinking: bool = False  # split <think>…</think> from the answer
    prompt_opens_thinking: bool = False  # the chat template already wrote <think>
    echo: str | None = None  # /v1/completions `echo`: the prompt's text, sent first
    score_only: bool = False  # echo with `max_tokens: 0`: the prompt alone, nothing generated
    tools: bool = False  # the answer may hold tool calls (read by serve/replica/tool_calls.py)
    grammar: object | None = None  # the hf engine's constraint state (serve/engines/hf/grammar.py)
    cancelled: threading.Event = field(default_factory=threading.Event)


@dataclass
class TokenLogprob:
    """One token's log-probability (natural log, over the model's raw distribution, as vLLM's
    default `raw_logprobs`) and its `top` alternatives as (text, logprob, utf-8 bytes). A
    generated token, or a prompt's (`echo` with `logprobs`): the prompt's first token has
    `logprob` None and no `top`, as nothing comes before it (OpenAI's legacy completions)."""

    token: str
    logprob: float | None
    bytes: list[int]
    top: list[tuple[str, float, list[int]]] = field(default_factory=list)


@dataclass
class ParsedToolCall:
    """A tool call read from the output: its id, function name and JSON arguments string."""

    id: str
    name: str
    arguments: str


@dataclass
class Chunk:
    """Text a request produced in one step. The last chunk has `finish_reason` set."""

    content: str = ""
    thinking: str = ""
    finish_reason: str | None = None
    prompt_tokens: int = 0
    completion_tokens: int = 0
    thinking_tokens: int = 0  # of completion_tokens, on the last chunk
    response: str | None = None  # the whole decoded text, on the last chunk only
    error: str | None = None  # finish_reason "error": why this request (alone) failed
    logprobs: list[TokenLogprob] = field(default_factory=list)  # the answer's tokens of this step
    tool_calls: list[ParsedToolCall] = field(default_factory=list)  # on the last chunk


def merge_chunks(chunks: list[Chunk]) -> Chunk:
    """Chunks that came one after another, as one: their text joined, the last one's finish
    fields. `chunks` is not empty."""
    last = chunks[-1]
    if len(chunks) == 1:
        return last
    merged = Chunk(**vars(last))
    merged.content = "".join(c.content for c in chunks)
    merged.thinking = "".join(c.thinking for c in chunks)
    merged.logprobs = [lp for c in chunks for lp in c.logprobs]
    merged.prompt_tokens = max(c.prompt_tokens for c in chunks)
    return merged


@dataclass
class Completion:
    """A whole generation, as a model deployment returns it to a non-streaming caller."""

    model: str
    content: str
    thinking: str | None
    response: str
    finish_reason: str
    prompt_tokens: int
    completion_tokens: int
    thinking_tokens: int
    ttft_s: float | None
    latency_s: float
    logprobs: list[TokenLogprob] = field(default_factory=list)
    tool_calls: list[ParsedToolCall] = field(default_factory=list)


class Accumulator:
    """Gathers a request's chunks into a `Completion` (the same way for every caller)."""

    def __init__(self, start: float):
        self.start = start
        self.ttft_s: float | None = None
        self.content: list[str] = []
        self.thinking: list[str] = []
        self.logprobs: list[TokenLogprob] = []
        self.last = Chunk()

    def add(self, chunk: Chunk, now: float) -> None:
        if self.ttft_s is None and (chunk.content or chunk.thinking or chunk.finish_reason):
            self.ttft_s = now - self.start
        self.content.append(chunk.content)
        self.thinking.append(chunk.thinking)
        self.logprobs.extend(chunk.logprobs)
        if chunk.finish_reason or chunk.prompt_tokens:
            self.last = chunk

    def completion(self, model: str, now: float) -> Completion:
        last = self.last
        return Completion(
            model=model,
            content="".join(self.content),
            thinking="".join(self.thinking).strip() or None,
            response=last.response or "",
            finish_reason=last.finish_reason or "stop",
            prompt_tokens=last.prompt_tokens,
            completion_tokens=last.completion_tokens,
            thinking_tokens=last.thinking_tokens,
            ttft_s=self.ttft_s,
            latency_s=now - self.start,
            logprobs=self.logprobs,
            tool_calls=last.tool_calls,
        )


def thinking_budget(params: GenerationParams, cfg: RoleConfig, effort: str | None,
                    budget: int | None) -> GenerationParams:
    """`params` with the thinking budget a request asked in OpenAI's or vLLM's terms: a budget in
    tokens (`thinking_token_budget`) over an effort level (the role's `reasoning_effort` map)."""
    if budget is None and effort is not None:
        budget = cfg.reasoning_effort.budget(effort)
    return params if budget is None else params.model_copy(update={"max_thinking_tokens": budget})


def resolve_sampling(params: GenerationParams, config: RoleConfig,
                     top_logprobs_param: str = "top_logprobs") -> SamplingParams:
    """The request's parameters laid over the role's defaults, checked against its caps.

    Raises `InvalidRequest` (code `above_cap`) for `max_new_tokens` past the role's cap or
    `top_logprobs` past its `top_logprobs_cap` (named `top_logprobs_param`, as the client sent
    it: `/v1/completions` calls it `logprobs`). What needs the model (`logit_bias` ids inside the
    vocabulary, `top_k` beyond it) is settled by the engine's prompt builder."""
    d = config.defaults
    max_new = params.max_new_tokens or d.max_new_tokens
    if max_new > config.max_new_tokens_cap:
        raise InvalidRequest(
            f"max_new_tokens is {max_new}; this role allows at most {config.max_new_tokens_cap}",
            param="max_new_tokens",
            code="above_cap",
        )
    logprobs = None
    if params.logprobs:
        logprobs = params.top_logprobs or 0
        if logprobs > config.top_logprobs_cap:
            raise InvalidRequest(
                f"{top_logprobs_param} is {logprobs}; this role allows at most "
                f"{config.top_logprobs_cap}", param=top_logprobs_param, code="above_cap")

    def pick(name):
        value = getattr(params, name)
        return getattr(d, name) if value is None else value

    if params.temperature is not None:
        temperature = params.temperature
    else:
        temperature = d.temperature if d.do_sample else 0.0
    top_k = pick("top_k")
    budget = pick("max_thinking_tokens")
    constraint = params.response_format.constraint() if params.response_format else None
    return SamplingParams(
        max_new_tokens=max_new,
        temperature=temperature,
        top_p=pick("top_p"),
        top_k=max(top_k, 0),  # -1 (vLLM's "off") as 0
        min_p=pick("min_p"),
        repetition_penalty=pick("repetition_penalty"),
        presence_penalty=pick("presence_penalty"),
        frequency_penalty=pick("frequency_penalty"),
        logit_bias=tuple((int(k), float(v)) for k, v in (params.logit_bias or {}).items()),
        stop=tuple(pick("stop")),
        seed=params.seed,
        min_tokens=min(params.min_tokens or 0, max_new),
        ignore_eos=bool(params.ignore_eos),
        include_stop_str_in_output=bool(params.include_stop_str_in_output),
        logprobs=logprobs,
        constraint=constraint,
        # A budget of 0 is thinking off: the template's own empty thinking, as enable_thinking.
        enable_thinking=pick("enable_thinking") and budget != 0,
        max_thinking_tokens=budget or None,
    )


class ModelReplica(Protocol):
    """What the ingress may call on a role's replica (`serve.replica.deployment.ModelServer`),
    through the role's DeploymentHandle: the contract between the two, declared once as Ray
    Serve LLM's `LLMServerProtocol` declares its server's. tests/server/test_replica_protocol.py
    checks that the replica implements it and that the ingress calls nothing else."""

    def stream(self, req: GenerationRequest) -> AsyncIterator[Chunk]:
        """The answer as chunks: first an empty one with `prompt_tokens` once the request is
        accepted (a refusal raises before it), then the text; the last has `finish_reason`."""

    async def complete(self, req: GenerationRequest) -> Completion:
        """The whole answer at once."""

    async def health(self) -> dict:
        """{"role", "model"} when the replica can answer; raises when its engine cannot."""

    async def stats(self) -> dict:
        """The replica's counters (requests running, finished, cancelled, tokens)."""
