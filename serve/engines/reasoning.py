"""Split a reasoning model's thinking from its answer, on token ids, one token at a time.

Qwen3 writes its thinking between `<think>` and `</think>`, each a single token. The ids are
looked up from the tokenizer (`think_token_ids`), never hard-coded. Either the chat template
already wrote `<think>` into the prompt (thinking starts with the first generated token), or the
model writes it as its first token.

The split is made at the first `</think>` (the Qwen3 card searches for the last one; a Qwen3 model
writes exactly one, and splitting at the first means a streamed answer never has to be taken
back, so streaming and non-streaming results are the same). When the output ends inside thinking
(no `</think>`: cut by `max_new_tokens`), everything generated is thinking and the answer is
empty: the model never got to answer, and calling its thoughts an answer would mislead.
"""

from __future__ import annotations

from typing import Literal

Channel = Literal["thinking", "content"]


# What a thinking budget forces when it is spent: the end of thinking alone. The model writes
# the blank line Qwen3 (and DeepSeek-R1) put after it on its own; forcing it too broke a JSON
# answer (`response_format`, a forced `tool_choice`), whose grammar, bound from `</think>` on in
# vLLM, takes no leading whitespace: vLLM then ended the request at the blank line.
FORCED_THINK_END = "</think>"


def forced_end_ids(tokenizer) -> list[int]:
    """The token ids a spent thinking budget forces, one after another."""
    return tokenizer.encode(FORCED_THINK_END, add_special_tokens=False)


def think_token_ids(tokenizer) -> tuple[int | None, int | None]:
    """The ids of `<think>` and `</think>` when the vocabulary has each as one token."""
    vocab = tokenizer.get_vocab()
    return vocab.get("<think>"), vocab.get("</think>")


class ReasoningParser:
    """Routes each generated token to `thinking`, `content`, or nowhere (the tags themselves)."""

    def __init__(self, start_id: int | None, end_id: int | None, opened: bool = False):
        self.start_id = start_id
        self.end_id = end_id
        if end_id is None:
            self.state = "content"  # no tags in this vocabulary: nothing to split
        else:
            self.state = "thinking" if opened else "start"
        self.thought = self.state == "thinking"

    def route(self, token_id: int) -> Channel | None:
        if self.state == "start":
            if token_id == self.start_id:
                self.state = "thinking"
                self.thought = True
                return None
            self.state = "content"
        if self.state == "thinking":
            if token_id == self.end_id:
                self.state = "content"
                return None
            return "thinking"
        return "content"


def split_ids(
    ids: list[int], start_id: int | None, end_id: int | None, opened: bool = False
) -> tuple[list[int], list[int], bool]:
    """Whole-sequence split: (thinking ids, answer ids, whether the model thought)."""
    parser = ReasoningParser(start_id, end_id, opened)
    thinking: list[int] = []
    content: list[int] = []
    for token in ids:
        channel = parser.route(token)
        if channel == "thinking":
            thinking.append(token)
        elif channel == "content":
            content.append(token)
    return thinking, content, parser.thought
