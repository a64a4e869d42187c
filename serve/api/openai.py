"""Wire models of the OpenAI-compatible routes: `/v1/chat/completions` and `/v1/completions`.

The request bodies are OpenAI's as documented (https://platform.openai.com/docs/api-reference/chat
and /completions), plus vLLM's common extras (`top_k`, `min_p`, `repetition_penalty`,
`min_tokens`, `ignore_eos`, `chat_template_kwargs`, `include_stop_str_in_output`). Fields that only
OpenAI's own service acts on (`user`, `metadata`, `store`, `service_tier`) are accepted and
ignored; a field nobody documents is a 400 naming it. Pydantic only (the SDK imports this).
"""

from __future__ import annotations

import time
from typing import Any, Literal

from pydantic import Field, field_validator, model_validator

from serve.api import params
from serve.api.protocol import (
    FinishReason,
    GenerationParams,
    Message,
    ResponseFormat,
    StrictBody,
    Usage,
    WireBody,
    has_user,
)

MAX_N = 128  # a wire bound; a role's `n_cap` is usually lower

Effort = params.Effort


class StreamOptions(StrictBody):
    include_usage: bool = False
    continuous_usage_stats: bool = False  # vLLM's; accepted, usage comes at the end


class _OpenAIRequest(StrictBody):
    """What both routes take."""

    model: str
    max_tokens: params.MaxTokens | None = None
    temperature: params.Temperature | None = None
    top_p: params.TopP | None = None
    presence_penalty: params.PresencePenalty | None = None
    frequency_penalty: params.FrequencyPenalty | None = None
    logit_bias: params.LogitBias | None = None
    stop: params.StopStrings | None = None
    seed: params.Seed | None = None
    n: int = Field(1, ge=1, le=MAX_N, description="Choices to generate, each its own sample.")
    stream: bool = False
    stream_options: StreamOptions | None = None
    response_format: ResponseFormat | None = None
    # vLLM's extras.
    top_k: params.TopK | None = None
    min_p: params.MinP | None = None
    repetition_penalty: params.RepetitionPenalty | None = None
    min_tokens: params.MinTokens | None = None
    ignore_eos: bool | None = None
    include_stop_str_in_output: bool | None = None
    # The reasoning model's thinking: OpenAI's effort levels (budgets set per role in its
    # config) or a budget in tokens (vLLM's name).
    reasoning_effort: Effort | None = None
    thinking_token_budget: params.ThinkingTokens | None = None
    # OpenAI's service acts on these; a local server accepts and ignores them.
    user: str | None = None
    metadata: dict[str, str] | None = None
    store: bool | None = None
    service_tier: str | None = None

    _stop_list = field_validator("stop", mode="before")(params.stop_as_list)

    @property
    def include_usage(self) -> bool:
        return bool(self.stream_options and self.stream_options.include_usage)

    def _params(self, max_tokens: int | None, logprobs: bool | None, top_logprobs: int | None,
                enable_thinking: bool | None = None) -> GenerationParams:
        return GenerationParams(
            max_new_tokens=max_tokens,
            temperature=self.temperature, top_p=self.top_p, top_k=self.top_k, min_p=self.min_p,
            repetition_penalty=self.repetition_penalty, presence_penalty=self.presence_penalty,
            frequency_penalty=self.frequency_penalty, logit_bias=self.logit_bias, stop=self.stop,
            seed=self.seed, min_tokens=self.min_tokens, ignore_eos=self.ignore_eos,
            include_stop_str_in_output=self.include_stop_str_in_output, logprobs=logprobs,
            top_logprobs=top_logprobs, response_format=self.response_format,
            enable_thinking=enable_thinking,
        )


class FunctionDefinition(StrictBody):
    name: str = Field(min_length=1, max_length=64)
    description: str | None = None
    parameters: dict | None = None
    strict: bool | None = None


class ToolDefinition(StrictBody):
    type: Literal["function"]
    function: FunctionDefinition


class NamedFunction(StrictBody):
    name: str


class NamedToolChoice(StrictBody):
    type: Literal["function"]
    function: NamedFunction


class ChatCompletionRequest(_OpenAIRequest):
    messages: list[Message] = Field(min_length=1)
    max_completion_tokens: params.MaxTokens | None = None
    logprobs: bool = False
    top_logprobs: params.TopLogprobs | None = None
    tools: list[ToolDefinition] | None = None
    tool_choice: Literal["none", "auto", "required"] | NamedToolChoice | None = None
    parallel_tool_calls: bool | None = None
    chat_template_kwargs: dict[str, Any] | None = Field(
        None, description="Extra variables for the chat template (vLLM's), e.g. enable_thinking.")

    _messages_have_user = field_validator("messages")(has_user)

    @model_validator(mode="after")
    def _logprobs_asked(self):
        if self.top_logprobs and not self.logprobs:
            raise ValueError("top_logprobs needs logprobs: true")
        if self.tool_choice not in (None, "none", "auto") and not self.tools:
            raise ValueError("tool_choice needs tools")
        return self

    def to_generation_params(self) -> GenerationParams:
        thinking = (self.chat_template_kwargs or {}).get("enable_thinking")
        return self._params(
            self.max_completion_tokens or self.max_tokens,
            self.logprobs or None,
            self.top_logprobs if self.logprobs else None,
            thinking if isinstance(thinking, bool) else None,
        )

    def template_kwargs(self) -> dict:
        """`chat_template_kwargs` but `enable_thinking` (which travels as a parameter)."""
        return {k: v for k, v in (self.chat_template_kwargs or {}).items() if k != "enable_thinking"}

    def tools_for_template(self) -> list[dict] | None:
        """The tools the template renders (none with `tool_choice: none`)."""
        if not self.tools or self.tool_choice == "none":
            return None
        return [t.model_dump(exclude_none=True) for t in self.tools]


Prompt = str | list[str] | list[int] | list[list[int]]


class CompletionRequest(_OpenAIRequest):
    prompt: Prompt = Field(description="A string, a list of strings, token ids, or lists of ids.")
    # 0 with `echo`: the prompt scored, nothing generated (lm-evaluation-harness's log-likelihood).
    max_tokens: int | None = Field(None, ge=0, description="Most tokens to generate; 0 only with "
                                   "echo (score the prompt).")
    echo: bool = False
    logprobs: int | None = Field(None, ge=0, le=params.MAX_TOP_LOGPROBS,
                                 description="Alternatives per token; 0 = the chosen token only.")
    best_of: int | None = Field(None, ge=1, le=MAX_N, description="Only best_of = n is served.")
    suffix: None = Field(None, description="Not served: these models do not fill in the middle.")

    @field_validator("prompt", mode="before")
    @classmethod
    def _prompt_shape(cls, prompt):
        """One message for every wrong shape (not one per member of the union)."""
        def ids(x):
            return isinstance(x, list) and all(isinstance(i, int) and not isinstance(i, bool)
                                               for i in x)

        if isinstance(prompt, str) or (isinstance(prompt, list) and (
                all(isinstance(p, str) for p in prompt) or ids(prompt)
                or all(ids(p) for p in prompt))):
            return prompt
        raise ValueError("must be a string, a list of strings, a list of token ids, or a list of "
                         "lists of token ids")

    @field_validator("prompt")
    @classmethod
    def _prompt_not_empty(cls, prompt):
        if prompt == "" or prompt == [] or (isinstance(prompt, list) and any(
                p == "" or p == [] for p in prompt)):
            raise ValueError("must not be empty")
        return prompt

    @model_validator(mode="after")
    def _best_of_is_n(self):
        if self.best_of is not None and self.best_of != self.n:
            raise ValueError("best_of other than n is not served (no ranking of samples)")
        return self

    @property
    def score_only(self) -> bool:
        """`echo` with `max_tokens: 0`: the prompt (and its logprobs) back, nothing generated."""
        return self.echo and self.max_tokens == 0

    def prompts(self) -> list[str | list[int]]:
        """The prompts, each a string or a list of token ids."""
        p = self.prompt
        if isinstance(p, str):
            return [p]
        if all(isinstance(x, int) for x in p):
            return [p]
        return list(p)

    def to_generation_params(self) -> GenerationParams:
        asked = self.logprobs is not None
        return self._params(self.max_tokens or None, asked or None,
                            self.logprobs if asked else None)


# ---- responses ----------------------------------------------------------------------------


class TopLogprob(WireBody):
    token: str
    logprob: float
    bytes: list[int] | None = None


class ChatTokenLogprob(TopLogprob):
    top_logprobs: list[TopLogprob] = Field(default_factory=list)


class ChatLogprobs(WireBody):
    content: list[ChatTokenLogprob] | None = None


class ToolCallFunction(WireBody):
    name: str | None = None
    arguments: str | None = None


class ToolCall(WireBody):
    id: str
    type: Literal["function"] = "function"
    function: ToolCallFunction


class ChatMessageOut(WireBody):
    role: Literal["assistant"] = "assistant"
    content: str | None = None
    reasoning_content: str | None = None
    reasoning: str | None = None
    tool_calls: list[ToolCall] | None = None
    refusal: str | None = None


class ChatChoice(WireBody):
    index: int = 0
    message: ChatMessageOut
    finish_reason: FinishReason | None
    logprobs: ChatLogprobs | None = None


class ChatCompletionResponse(WireBody):
    id: str
    object: Literal["chat.completion"] = "chat.completion"
    created: int = Field(default_factory=lambda: int(time.time()))
    model: str
    choices: list[ChatChoice]
    usage: Usage
    system_fingerprint: str | None = None


class DeltaToolCall(WireBody):
    index: int
    id: str | None = None
    type: Literal["function"] | None = None
    function: ToolCallFunction


class ChatDelta(WireBody):
    role: Literal["assistant"] | None = None
    content: str | None = None
    reasoning_content: str | None = None
    reasoning: str | None = None
    tool_calls: list[DeltaToolCall] | None = None


class ChatChunkChoice(WireBody):
    index: int = 0
    delta: ChatDelta
    finish_reason: FinishReason | None = None
    logprobs: ChatLogprobs | None = None


class ChatCompletionChunk(WireBody):
    id: str
    object: Literal["chat.completion.chunk"] = "chat.completion.chunk"
    created: int = Field(default_factory=lambda: int(time.time()))
    model: str
    choices: list[ChatChunkChoice]
    usage: Usage | None = None


class CompletionLogprobs(WireBody):
    """The legacy completions shape: parallel lists, one entry per token."""

    tokens: list[str] = Field(default_factory=list)
    token_logprobs: list[float | None] = Field(default_factory=list)
    top_logprobs: list[dict[str, float] | None] = Field(default_factory=list)
    text_offset: list[int] = Field(default_factory=list)


class CompletionChoice(WireBody):
    index: int = 0
    text: str
    finish_reason: FinishReason | None = None  # stream frames leave it out until the last one
    logprobs: CompletionLogprobs | None = None


class CompletionResponse(WireBody):
    id: str
    object: Literal["text_completion"] = "text_completion"
    created: int = Field(default_factory=lambda: int(time.time()))
    model: str
    choices: list[CompletionChoice]
    usage: Usage | None = None
