"""Wire models of triserve's HTTP API, shared by the server and the client SDK.

Nothing here imports ray or torch, so `clients/` can use these models cheaply.
The OpenAI routes' own bodies are in serve/api/openai.py; the sampling parameters' bounds in
serve/api/params.py. Unknown fields are rejected (400 with `param`), as the OpenAI API itself does.
"""

from __future__ import annotations

import json
import uuid
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from serve.api import params
from serve.api.params import Effort

class StrictBody(BaseModel):
    """Request bodies: unknown fields are an error (400 naming the field)."""

    model_config = ConfigDict(extra="forbid")


class WireBody(BaseModel):
    """Response bodies: a newer server may add fields; an older client ignores them."""

    model_config = ConfigDict(extra="ignore")


def new_id(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:24]}"


class JSONSchemaFormat(StrictBody):
    """`response_format.json_schema` as OpenAI documents it."""

    name: str = Field(max_length=64, description="The schema's name.")
    description: str | None = None
    schema_: dict = Field(default_factory=dict, alias="schema", description="A JSON Schema.")
    strict: bool | None = None

    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class ResponseFormat(StrictBody):
    """`text` (the default), `json_object` (any JSON object) or `json_schema` (that schema):
    constrained decoding, by vLLM's structured outputs or xgrammar on the hf engine."""

    type: Literal["text", "json_object", "json_schema"]
    json_schema: JSONSchemaFormat | None = None

    @model_validator(mode="after")
    def _schema_given(self):
        if self.type == "json_schema" and self.json_schema is None:
            raise ValueError("type 'json_schema' needs 'json_schema'")
        return self

    def constraint(self) -> tuple[str, dict | None] | None:
        """What the engines constrain to: None, ("json_object", None) or ("json_schema", schema)."""
        if self.type == "json_object":
            return ("json_object", None)
        if self.type == "json_schema":
            return ("json_schema", self.json_schema.schema_)
        return None


class GenerationParams(StrictBody):
    """Sampling parameters. A field left unset takes the role's default from the config.

    Bounds are declared once in serve/api/params.py; `logit_bias` token ids and `top_logprobs` are
    checked against the model's vocabulary and the role's caps when the request is prepared."""

    max_new_tokens: params.MaxTokens | None = None
    temperature: params.Temperature | None = None
    top_p: params.TopP | None = None
    top_k: params.TopK | None = None
    min_p: params.MinP | None = None
    repetition_penalty: params.RepetitionPenalty | None = None
    presence_penalty: params.PresencePenalty | None = None
    frequency_penalty: params.FrequencyPenalty | None = None
    logit_bias: params.LogitBias | None = None
    stop: params.StopStrings | None = None
    seed: params.Seed | None = None
    min_tokens: params.MinTokens | None = None
    ignore_eos: bool | None = Field(None, description="Keep generating past the end-of-sequence token.")
    include_stop_str_in_output: bool | None = Field(
        None, description="Keep the stop string that ended the output in it.")
    logprobs: bool | None = Field(None, description="Return each generated token's log-probability.")
    top_logprobs: params.TopLogprobs | None = None
    response_format: ResponseFormat | None = Field(None, description="Constrain the answer to JSON.")
    enable_thinking: bool | None = Field(None, description="Reasoning role: think before answering.")
    max_thinking_tokens: params.ThinkingTokens | None = None

    _stop_list = field_validator("stop", mode="before")(params.stop_as_list)


class FunctionCall(StrictBody):
    name: str
    arguments: str = Field(description="The arguments as a JSON string (OpenAI's shape).")


class ToolCall(StrictBody):
    id: str
    type: Literal["function"] = "function"
    function: FunctionCall


def text_of_content(content, where: str = "content"):
    """A message's content as one string: a string as is, a list of text parts joined with
    newlines (as vLLM joins them). Raises ValueError naming a part that is not text."""
    if not isinstance(content, list):
        return content
    texts = []
    for j, part in enumerate(content):
        kind = part.get("type") if isinstance(part, dict) else None
        if kind != "text" or not isinstance(part.get("text"), str):
            raise ValueError(f"{where}[{j}] is a {kind!r} part; these models read text parts only")
        extra = set(part) - {"type", "text", "cache_control"}
        if extra:
            raise ValueError(f"{where}[{j}] has unknown field(s) {sorted(extra)}")
        texts.append(part["text"])
    return "\n".join(texts)


class Message(StrictBody):
    """A chat message. `content` is a string or a list of text parts; `developer` is a system
    message; `tool` messages answer an assistant's `tool_calls`."""

    role: Literal["system", "developer", "user", "assistant", "tool"]
    content: str | None = None
    name: str | None = None
    tool_calls: list[ToolCall] | None = None
    tool_call_id: str | None = None
    # Sent back by clients that append the assistant message they were given.
    reasoning_content: str | None = None
    refusal: str | None = None

    @field_validator("content", mode="before")
    @classmethod
    def _content_text(cls, content):
        return text_of_content(content)

    @model_validator(mode="after")
    def _content_present(self):
        if self.content is None and not (self.role == "assistant" and self.tool_calls):
            raise ValueError(f"a {self.role} message needs 'content'")
        if self.role == "tool" and not self.tool_call_id:
            raise ValueError("a tool message needs 'tool_call_id'")
        return self

    def for_template(self) -> dict:
        """The message as chat templates read it: `developer` as `system`, tool-call arguments
        as objects (what Qwen's and most templates expect, as vLLM passes them)."""
        out = {"role": "system" if self.role == "developer" else self.role,
               "content": self.content or ""}
        if self.name:
            out["name"] = self.name
        if self.tool_call_id:
            out["tool_call_id"] = self.tool_call_id
        if self.tool_calls:
            out["tool_calls"] = [
                {"id": c.id, "type": "function",
                 "function": {"name": c.function.name, "arguments": _json_or_text(c.function.arguments)}}
                for c in self.tool_calls
            ]
        return out


def _json_or_text(arguments: str):
    try:
        return json.loads(arguments)
    except ValueError:
        return arguments


class PromptInput(StrictBody):
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
        return has_user(messages)

    @model_validator(mode="after")
    def _one_input(self):
        if (self.prompt is None) == (self.messages is None):
            raise ValueError("give exactly one of 'prompt' or 'messages'")
        return self


def has_user(messages):
    if messages is not None and not any(m.role == "user" for m in messages):
        raise ValueError("must hold at least one user message")
    return messages


class CompareRequest(PromptInput):
    """`POST /v1/compare`: one input to several roles at once.

    A conversation goes on statelessly: `history` gives each role its own earlier turns (its own
    answers, as the client kept them), laid before this turn's `prompt` or `messages`, so any
    ingress replica serves any turn. A chat role reads them through its chat template (a
    reasoning model's earlier thinking left out, as Qwen3's model card asks); a raw-format (base)
    role reads one document: each turn's text followed by its continuation, turns a blank line
    apart (`history_document`)."""

    roles: list[str] | None = Field(None, min_length=1, description="Roles to ask; default all.")
    history: dict[str, list[Message]] = Field(
        default_factory=dict, description="Role → that role's earlier turns of this conversation "
        "(user and assistant messages, oldest first). A role not named starts afresh.")
    params: GenerationParams = Field(default_factory=GenerationParams)
    overrides: dict[str, GenerationParams] = Field(
        default_factory=dict, description="Per-role parameters laid over `params`."
    )
    reasoning_effort: Effort | None = Field(
        None, description="OpenAI's effort level, a thinking budget from each role's config "
        "(`reasoning_effort`); a `max_thinking_tokens` in `params` or `overrides` wins.")
    battle: int | None = Field(
        None, ge=2, le=16, description="An anonymous battle: this many roles drawn at random "
        "(each role's `battle_weight`), shown as A, B, … with no name or model until a vote on "
        "this comparison reveals them. Not with `roles`, `overrides` or `history`.")
    stream: bool = False

    @model_validator(mode="after")
    def _battle_alone(self):
        if self.battle is not None and (self.roles or self.overrides or self.history):
            raise ValueError("a battle draws its own roles: give no 'roles', 'overrides' or "
                             "'history' with 'battle'")
        return self


class CompletionTokensDetails(WireBody):
    reasoning_tokens: int = 0


class Usage(WireBody):
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


class ErrorInfo(WireBody):
    message: str
    type: str
    code: str | None = None
    param: str | None = None
    request_id: str | None = None


class ErrorResponse(WireBody):
    """The one error body of every route: `{"error": {...}}`."""

    error: ErrorInfo


FinishReason = Literal["stop", "length", "tool_calls", "error", "cancelled"]


class RoleResult(WireBody):
    role: str
    model: str = Field(description="The model id this role serves.")
    response: str = Field("", description="All decoded text, thinking tags included.")
    content: str = Field("", description="The answer.")
    thinking: str | None = Field(None, description="The model's thinking, when it thought.")
    finish_reason: FinishReason = "stop"
    usage: Usage = Field(default_factory=Usage)
    latency_s: float = 0.0
    ttft_s: float | None = None
    cost_usd: float | None = Field(
        None, description="What this answer cost at the role's configured `price` (US dollars), "
        "when the config gives one.")
    error: ErrorInfo | None = None


class CompareResponse(WireBody):
    id: str
    object: Literal["compare"] = "compare"
    created: int
    results: list[RoleResult]

    def result(self, role: str) -> RoleResult:
        for r in self.results:
            if r.role == role:
                return r
        raise KeyError(role)


class CompareEvent(WireBody):
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


class ModelCard(WireBody):
    id: str
    object: Literal["model"] = "model"
    created: int = 0
    owned_by: str = "triserve"
    role: str = Field(description="The role this entry answers to.")
    model: str = Field(description="The model id the role serves.")
    root: str | None = None
    kind: Literal["base", "instruct", "reasoning"] | None = Field(
        None, description="What kind of model the role is (`kind` in the config).")
    price: dict[str, float] | None = Field(
        None, description="US dollars per million tokens, `input_per_million` and "
        "`output_per_million`, when the config gives a price.")


class ModelList(WireBody):
    object: Literal["list"] = "list"
    data: list[ModelCard]


class RoleHealth(WireBody):
    status: Literal["ok", "unavailable"]
    model: str
    error: str | None = None


class HealthResponse(WireBody):
    status: Literal["ok", "degraded"]
    roles: dict[str, RoleHealth]
    warnings: list[str] = Field(
        default_factory=list,
        description="Configuration the operator should know of, e.g. an API open to the network.")
