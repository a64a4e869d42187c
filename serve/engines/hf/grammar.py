"""Constrained decoding on the hf engine with xgrammar (the grammar library vLLM uses by default).

`response_format` `json_object` compiles xgrammar's built-in JSON grammar (an object at the top:
a JSON Schema `{"type": "object"}`), `json_schema` the given schema. Whitespace between tokens is
compact (`any_whitespace=False`): a small model left free to write whitespace can write nothing
else until it runs out of tokens. A row's matcher masks the logits of every token the grammar does
not allow next; once the grammar is complete only the end-of-sequence tokens stay allowed.
"""

from __future__ import annotations

import json

import torch

from serve.errors import InvalidRequest


class Grammars:
    """One model's grammar compiler (compiled grammars cached by xgrammar)."""

    def __init__(self, tokenizer, vocab_size: int, eos_ids: set[int]):
        import xgrammar as xgr

        self.xgr = xgr
        self.vocab_size = vocab_size
        info = xgr.TokenizerInfo.from_huggingface(tokenizer, vocab_size=vocab_size,
                                                  stop_token_ids=sorted(eos_ids))
        self.compiler = xgr.GrammarCompiler(info, max_threads=1)

    def matcher(self, constraint: tuple[str, dict | None]) -> "RowGrammar":
        """Raises `InvalidRequest` (param `response_format`) for a schema xgrammar refuses."""
        kind, schema = constraint
        try:
            if kind == "json_object":
                compiled = self.compiler.compile_json_schema('{"type": "object"}', any_whitespace=False)
            else:
                compiled = self.compiler.compile_json_schema(json.dumps(schema), any_whitespace=False)
        except Exception as exc:
            raise InvalidRequest(f"the JSON schema cannot be used: {exc}",
                                 param="response_format.json_schema.schema") from None
        return RowGrammar(self.xgr, self.xgr.GrammarMatcher(compiled), self.vocab_size)


class RowGrammar:
    """One request's grammar state."""

    def __init__(self, xgr, matcher, vocab_size: int):
        self.xgr = xgr
        self.matcher = matcher
        self.bitmask = xgr.allocate_token_bitmask(1, vocab_size)

    def mask(self, logits: torch.Tensor) -> None:
        """logits: [vocab] float32, changed in place (disallowed tokens to -inf)."""
        self.matcher.fill_next_token_bitmask(self.bitmask, 0)
        self.xgr.apply_token_bitmask_inplace(logits[None, :], self.bitmask)

    def accept(self, token_id: int) -> None:
        """Raises RuntimeError when the grammar does not accept the token (a masked sampler
        never picks one; this is the row's own failure)."""
        if not self.matcher.is_terminated() and not self.matcher.accept_token(token_id):
            raise RuntimeError(f"the grammar refused token {token_id}")
