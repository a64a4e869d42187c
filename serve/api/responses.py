"""Wire models of `POST /v1/responses`: the part of OpenAI's Responses API a local model can honour
(https://platform.openai.com/docs/api-reference/responses/create).

Served: `input` as a string or message items (text parts), `instructions`, `max_output_tokens`,
`temperature`, `top_p`, `reasoning.effort` (a thinking budget, serve/ingress/openai_routes.py),
`text.format` (text, JSON object or JSON schema: constrained decoding), `stream`. Refused by name:
`store: true` and `previous_response_id` (responses are not kept), `tools`, image and file parts.
Accepted and ignored: `metadata`, `user`, `service_tier`, `truncation`, `include`,
`parallel_tool_calls`, `tool_choice` "auto"/"none", `reasoning.summary`. Pydantic only.
"""

from __future__ import annotations

import time
from typing import Any, Literal

from pydantic import Field, field_validator

from serve.api import params
from serve.api.openai import Effort
from serve.api.protocol import JSONSchemaFormat, ResponseFormat, StrictBody, WireBody, text_of_content


class InputMessage(StrictBody):
    """A message item of `input`; its content a string or a list of text parts."""

    type: Literal["message"] | None = None
    role: Literal["system", "developer", "user", "assistant"]
    content: str
    id: str | None = None
    status: str | None = None

    @field_validator("content", mode="before")
    @classmethod
    def _text(cls, content):
        if isinstance(content, list):  # input_text / output_text parts, as the SDK sends them
            content = [{**p, "type": "text"} if isinstance(p, dict) and p.get("type") in (
                "input_text", "output_text") else p for p in content]
            content = [{k: v for k, v in p.items() if k != "annotations"} if isinstance(p, dict)
                       else p for p in content]
        return text_of_content(content)


class Reasoning(StrictBody):
    effort: Effort | None = None
    summary: str | None = None  # accepted; the thinking comes whole, not summarised
    generate_summary: str | None = None


class TextFormat(StrictBody):
    type: Literal["text", "json_object", "json_schema"]
    name: str | None = None
    schema_: dict | None = Field(None, alias="schema")
    description: str | None = None
    strict: bool | None = None

    model_config = {"extra": "forbid", "populate_by_name": True}

    def response_format(self) -> ResponseFormat | None:
        if self.type == "text":
            return None
        if self.type == "json_object":
            return ResponseFormat(type="json_object")
        return ResponseFormat(type="json_schema", json_schema=JSONSchemaFormat(
            name=self.name or "schema", schema=self.schema_ or {}, strict=self.strict))


class TextOptions(StrictBody):
    format: TextFormat | None = None
    verbosity: str | None = None  # accepted and ignored


class ResponsesRequest(StrictBody):
    model: str
    input: str | list[InputMessage] = Field(min_length=1)
    instructions: str | None = None
    max_output_tokens: params.MaxTokens | None = None
    temperature: params.Temperature | None = None
    top_p: params.TopP | None = None
    seed: params.Seed | None = None
    reasoning: Reasoning | None = None
    text: TextOptions | None = None
    stream: bool = False
    store: bool | None = None
    previous_response_id: str | None = None
    tools: list[Any] | None = None
    tool_choice: Literal["none", "auto"] | None = None
    parallel_tool_calls: bool | None = None
    metadata: dict[str, str] | None = None
    user: str | None = None
    service_tier: str | None = None
    truncation: Literal["disabled", "auto"] | None = None
    include: list[str] | None = None

    def messages(self) -> list[dict]:
        """The conversation as chat messages: `instructions` first as the system message."""
        items = ([{"role": "user", "content": self.input}] if isinstance(self.input, str) else
                 [{"role": "system" if m.role == "developer" else m.role, "content": m.content}
                  for m in self.input])
        if self.instructions:
            items.insert(0, {"role": "system", "content": self.instructions})
        return items


# ---- responses ----------------------------------------------------------------------------


class OutputText(WireBody):
    type: Literal["output_text"] = "output_text"
    text: str = ""
    annotations: list = Field(default_factory=list)


class ReasoningText(WireBody):
    type: Literal["reasoning_text"] = "reasoning_text"
    text: str = ""


class MessageItem(WireBody):
    type: Literal["message"] = "message"
    id: str
    status: Literal["in_progress", "completed", "incomplete"] = "completed"
    role: Literal["assistant"] = "assistant"
    content: list[OutputText] = Field(default_factory=list)


class ReasoningItem(WireBody):
    type: Literal["reasoning"] = "reasoning"
    id: str
    summary: list = Field(default_factory=list)
    content: list[ReasoningText] = Field(default_factory=list)
    status: Literal["in_progress", "completed", "incomplete"] = "completed"


class InputTokensDetails(WireBody):
    cached_tokens: int = 0


class OutputTokensDetails(WireBody):
    reasoning_tokens: int = 0


class ResponseUsage(WireBody):
    input_tokens: int = 0
    input_tokens_details: InputTokensDetails = Field(default_factory=InputTokensDetails)
    output_tokens: int = 0
    output_tokens_details: OutputTokensDetails = Field(default_factory=OutputTokensDetails)
    total_tokens: int = 0


class IncompleteDetails(WireBody):
    reason: Literal["max_output_tokens", "content_filter"]


class ResponseObject(WireBody):
    id: str
    object: Literal["response"] = "response"
    created_at: int = Field(default_factory=lambda: int(time.time()))
    status: Literal["in_progress", "completed", "incomplete", "failed"] = "completed"
    model: str
    output: list[ReasoningItem | MessageItem] = Field(default_factory=list)
    usage: ResponseUsage | None = None
    incomplete_details: IncompleteDetails | None = None
    error: dict | None = None
    instructions: str | None = None
    max_output_tokens: int | None = None
    temperature: float | None = None
    top_p: float | None = None
    parallel_tool_calls: bool = False
    tool_choice: str = "none"
    tools: list = Field(default_factory=list)
    metadata: dict = Field(default_factory=dict)
    store: bool = False
