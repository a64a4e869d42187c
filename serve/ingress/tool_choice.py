"""`tool_choice` that forces a call: `"required"` or `{"type": "function", "function": {"name"}}`.

As vLLM's server serves them: the answer is constrained by a grammar over the tools' JSON
schemas (our `response_format` machinery, so xgrammar on either engine; a reasoning role thinks
freely first), then read back as tool calls. A named function's answer is its arguments
object; `required` answers a JSON array of `{"name", "parameters"}` items, one per call (at most
one when `parallel_tool_calls` is false). No tool parser is needed: the calls are the constrained
JSON itself, so a role without `tool_parser` serves these too.

Streaming: the constrained answer is held and its calls go out whole with the last chunk, the
way serve/replica/tool_calls.py sends parsed calls, so a stream's deltas rebuild exactly the
calls of the whole answer.
"""

from __future__ import annotations

import json

from serve.api import openai as op
from serve.api.protocol import JSONSchemaFormat, ResponseFormat, new_id
from serve.errors import InvalidRequest
from serve.generation import ParsedToolCall

ANY_OBJECT = {"type": "object"}


class ForcedTools:
    """The grammar and the reading of one request whose `tool_choice` forces a call."""

    def __init__(self, body: op.ChatCompletionRequest):
        tools = {t.function.name: t.function.parameters or ANY_OBJECT for t in body.tools or []}
        choice = body.tool_choice
        if isinstance(choice, op.NamedToolChoice):
            if choice.function.name not in tools:
                raise InvalidRequest(
                    f"tool_choice names {choice.function.name!r}, which is not among the tools "
                    f"({', '.join(tools)})", param="tool_choice.function.name")
            self.name: str | None = choice.function.name
            schema = tools[self.name]
        else:
            self.name = None
            schema = {"type": "array", "minItems": 1, "items": {"anyOf": [
                {"type": "object", "properties": {"name": {"enum": [name]}, "parameters": params},
                 "required": ["name", "parameters"], "additionalProperties": False}
                for name, params in tools.items()]}}
            if body.parallel_tool_calls is False:
                schema["maxItems"] = 1
        self.format = ResponseFormat(type="json_schema", json_schema=JSONSchemaFormat(
            name=self.name or "tool_calls", schema=schema))

    @staticmethod
    def applies(body: op.ChatCompletionRequest) -> bool:
        """Whether `body`'s `tool_choice` forces a call. A `response_format` beside it is a 400:
        both would constrain the one answer."""
        forced = body.tool_choice not in (None, "none", "auto")
        if forced and body.response_format is not None and body.response_format.type != "text":
            raise InvalidRequest("response_format and a tool_choice that forces a call both "
                                 "constrain the answer; send one of them", param="response_format")
        return forced

    def calls(self, answer: str) -> list[ParsedToolCall]:
        """The calls in a constrained answer; none where it is not whole JSON (the answer was cut
        by `max_tokens`): the text then stays the answer, as a parser leaves a broken call."""
        if self.name is not None:
            try:
                json.loads(answer)
            except ValueError:
                return []
            return [ParsedToolCall(id=new_id("chatcmpl-tool"), name=self.name, arguments=answer)]
        try:
            items = json.loads(answer)
        except ValueError:
            return []
        return [ParsedToolCall(id=new_id("chatcmpl-tool"), name=item["name"],
                               arguments=json.dumps(item["parameters"], ensure_ascii=False))
                for item in items]
