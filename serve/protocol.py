"""Wire models of triserve's HTTP API, shared by the server and the client SDK.

Nothing here imports ray or torch, so `clients/` can use these models cheaply.
The OpenAI routes accept the subset of the OpenAI request body that a local model can honour;
unknown fields are rejected (400 with `param`), as the OpenAI API itself does.
"""

from __future__ import annotations

import time
import uuid
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

ROLES = ("base", "instruct", "reasoning")

MAX_STOP_STRINGS = 8
MAX_STOP_LENGTH = 64


class _Strict(BaseModel):
    """Request bodies: unknown fields are an error (400 naming the field)."""

    model_config = ConfigDict(extra="forbid")


class _Wire(BaseModel):
    """Response bodies: a newer server may add fields; an older client ignores them."""

    model_config = ConfigDict(extra="ignore")


def new_id(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:24]}"


StopStrings = Annotated[
    list[Annotated[str, Field(min_length=1, max_length=MAX_STOP_LENGTH)]],
    Field(max_length=MAX_STOP_STRINGS),
]


def _stop_as_list(value):
    return [value] if isinstance(value, str) else value


class GenerationParams(_Strict):
    """Sampling parameters. A field left unset takes the role's default from the config."""

    max_new_tokens: int | None = Field(None, ge=1, description="Most tokens to generate.")
    temperature: float | None = Field(None, ge=0.0, le=2.0, description="0 means greedy decoding.")
    top_p: float | None = Field(None, gt=0.0, le=1.0, description="Nucleus sampling mass.")
    top_k: int | None = Field(None, ge=0, description="Keep the k most likely tokens; 0 = off.")
    min_p: float | None = Field(None, ge=0.0, le=1.0, description="Drop tokens below min_p × top.")
    repetition_penalty: float | None = Field(None, gt=0.0, le=10.0, description="1 = off.")
    stop: StopStrings | None = Field(None, description="Strings that end generation (not returned).")
    seed: int | None = Field(None, ge=0, le=2**63 - 1, description="Makes sampling reproducible.")
    enable_thinking: bool | None = Field(None, description="Reasoning role: think before answering.")

    _stop_list = field_validator("stop", mode="before")(_stop_as_list)


class Message(_Strict):
    role: Literal["system", "user", "assistant"]
    content: str


class PromptInput(_Strict):
    """Either a bare `prompt` (wrapped as one user message for chat roles) or `messages`."""

    prompt: str | None = Field(None, description="A prompt; raw-format roles continue it as is.")
    messages: list[Message] | None = Field(None, description="A chat conversation.")
    system: str | None = Field(None, description="Overrides each role's default system prompt.")

    @field_validator("prompt")
    @classmethod
    def _prompt_not_empty(cls, prompt):
        if prompt is not None and not prompt.strip():
            raise ValueError("must not be empty")
        return prompt

    @field_validator("messages")
    @classmethod
    def _messages_have_user(cls, messages):
        return _has_user(messages)

    @model_validator(mode="after")
    def _one_input(self):
        if (self.prompt is None) == (self.messages is None):
            raise ValueError("give exactly one of 'prompt' or 'messages'")
        return self


def _has_user(messages):
    if messages is not None and not any(m.role == "user" for m in messages):
        raise ValueError("must hold at least one user message")
    return messages


class CompareRequest(PromptInput):
    """`POST /v1/compare`: one input to several roles at once."""

    roles: list[str] | None = Field(None, min_length=1, description="Roles to ask; default all.")
    params: GenerationParams = Field(default_factory=GenerationParams)
    overrides: dict[str, GenerationParams] = Field(
        default_factory=dict, description="Per-role parameters laid over `params`."
    )
    stream: bool = False


class CompletionTokensDetails(_Wire):
    reasoning_tokens: int = 0


class Usage(_Wire):
    prompt_tokens: int = 0
    completion_tokens: int = 0
    total_tokens: int = 0
    completion_tokens_details: CompletionTokensDetails | None = Field(
        None, description="How many of the completion tokens were thinking (OpenAI's field)."
    )

    @classmethod
    def of(cls, prompt_tokens: int, completion_tokens: int, reasoning_tokens: int = 0) -> "Usage":
        details = CompletionTokensDetails(reasoning_tokens=reasoning_tokens) if reasoning_tokens else None
        return cls(prompt_tokens=prompt_tokens, completion_tokens=completion_tokens,
                   total_tokens=prompt_tokens + completion_tokens, completion_tokens_details=details)


class ErrorInfo(_Wire):
    message: str
    type: str
    code: str | None = None
    param: str | None = None
    request_id: str | None = None


class ErrorResponse(_Wire):
    """The one error body of every route: `{"error": {...}}`."""

    error: ErrorInfo


FinishReason = Literal["stop", "length", "error", "cancelled"]


class RoleResult(_Wire):
    role: str
    model: str = Field(description="The model id this role serves.")
    response: str = Field("", description="All decoded text, thinking tags included.")
    content: str = Field("", description="The answer.")
    thinking: str | None = Field(None, description="The model's thinking, when it thought.")
    finish_reason: FinishReason = "stop"
    usage: Usage = Field(default_factory=Usage)
    latency_s: float = 0.0
    ttft_s: float | None = None
    error: ErrorInfo | None = None


class CompareResponse(_Wire):
    id: str
    object: Literal["compare"] = "compare"
    created: int
    results: list[RoleResult]

    def result(self, role: str) -> RoleResult:
        for r in self.results:
            if r.role == role:
                return r
        raise KeyError(role)


class CompareEvent(_Wire):
    """One SSE event of a streaming comparison.

    `delta` events carry text as a role produces it (thinking and answer apart); each role ends
    with one `result` event holding its whole `RoleResult`. The stream ends with `data: [DONE]`.
    """

    id: str
    role: str
    type: Literal["delta", "result"]
    content: str | None = None
    thinking: str | None = None
    result: RoleResult | None = None


# ---- OpenAI-compatible subset -------------------------------------------------------------


class StreamOptions(_Strict):
    include_usage: bool = False


class _OpenAISampling(_Strict):
    model: str
    max_tokens: int | None = Field(None, ge=1)
    temperature: float | None = Field(None, ge=0.0, le=2.0)
    top_p: float | None = Field(None, gt=0.0, le=1.0)
    top_k: int | None = Field(None, ge=0)
    min_p: float | None = Field(None, ge=0.0, le=1.0)
    repetition_penalty: float | None = Field(None, gt=0.0, le=10.0)
    stop: StopStrings | None = None
    seed: int | None = Field(None, ge=0, le=2**63 - 1)
    n: Literal[1] = 1
    stream: bool = False
    stream_options: StreamOptions | None = None
    user: str | None = None

    _stop_list = field_validator("stop", mode="before")(_stop_as_list)

    def generation_params(self, **extra) -> GenerationParams:
        return GenerationParams(
            max_new_tokens=extra.pop("max_new_tokens", None) or self.max_tokens,
            temperature=self.temperature,
            top_p=self.top_p,
            top_k=self.top_k,
            min_p=self.min_p,
            repetition_penalty=self.repetition_penalty,
            stop=self.stop,
            seed=self.seed,
            **extra,
        )


class ChatTemplateKwargs(_Strict):
    enable_thinking: bool | None = None


class ChatCompletionRequest(_OpenAISampling):
    messages: list[Message] = Field(min_length=1)
    max_completion_tokens: int | None = Field(None, ge=1)
    chat_template_kwargs: ChatTemplateKwargs | None = Field(
        None, description="vLLM's way to pass `enable_thinking`."
    )

    _messages_have_user = field_validator("messages")(_has_user)

    def to_generation_params(self) -> GenerationParams:
        thinking = self.chat_template_kwargs.enable_thinking if self.chat_template_kwargs else None
        return self.generation_params(
            max_new_tokens=self.max_completion_tokens, enable_thinking=thinking
        )


class CompletionRequest(_OpenAISampling):
    prompt: str = Field(min_length=1)
    echo: bool = False

    @field_validator("prompt", mode="before")
    @classmethod
    def _single_prompt(cls, value):
        if isinstance(value, list) and len(value) == 1 and isinstance(value[0], str):
            return value[0]
        return value

    def to_generation_params(self) -> GenerationParams:
        return self.generation_params()


class ChatMessageOut(_Wire):
    role: Literal["assistant"] = "assistant"
    content: str | None = None
    reasoning_content: str | None = None
    reasoning: str | None = None


class ChatChoice(_Wire):
    index: int = 0
    message: ChatMessageOut
    finish_reason: FinishReason | None
    logprobs: None = None


class ChatCompletionResponse(_Wire):
    id: str
    object: Literal["chat.completion"] = "chat.completion"
    created: int = Field(default_factory=lambda: int(time.time()))
    model: str
    choices: list[ChatChoice]
    usage: Usage


class ChatDelta(_Wire):
    role: Literal["assistant"] | None = None
    content: str | None = None
    reasoning_content: str | None = None
    reasoning: str | None = None


class ChatChunkChoice(_Wire):
    index: int = 0
    delta: ChatDelta
    finish_reason: FinishReason | None = None
    logprobs: None = None


class ChatCompletionChunk(_Wire):
    id: str
    object: Literal["chat.completion.chunk"] = "chat.completion.chunk"
    created: int = Field(default_factory=lambda: int(time.time()))
    model: str
    choices: list[ChatChunkChoice]
    usage: Usage | None = None


class CompletionChoice(_Wire):
    index: int = 0
    text: str
    finish_reason: FinishReason | None = None  # stream frames leave it out until the last one
    logprobs: None = None


class CompletionResponse(_Wire):
    id: str
    object: Literal["text_completion"] = "text_completion"
    created: int = Field(default_factory=lambda: int(time.time()))
    model: str
    choices: list[CompletionChoice]
    usage: Usage | None = None


class ModelCard(_Wire):
    id: str
    object: Literal["model"] = "model"
    created: int = 0
    owned_by: str = "triserve"
    role: str = Field(description="The role this entry answers to.")
    model: str = Field(description="The model id the role serves.")
    root: str | None = None


class ModelList(_Wire):
    object: Literal["list"] = "list"
    data: list[ModelCard]


class RoleHealth(_Wire):
    status: Literal["ok", "unavailable"]
    model: str
    error: str | None = None


class HealthResponse(_Wire):
    status: Literal["ok", "degraded"]
    roles: dict[str, RoleHealth]
