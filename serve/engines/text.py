"""Per-request decoding state: incremental detokenization, stop strings, the thinking split.

Engine-independent text handling, so that the real and the scripted engine and every batch size
turn the same tokens into the same text.
"""

from __future__ import annotations

from serve.generation import Chunk, PreparedRequest, TokenLogprob
from serve.engines.reasoning import ReasoningParser


class IncrementalDetokenizer:
    """Turns ids into text deltas without splitting a multi-byte character.

    With a fast tokenizer (transformers' `backend_tokenizer`): the `tokenizers` library's
    `DecodeStream` (what vLLM's fast detokenizer uses), one step in Rust per token. Otherwise
    TGI's method: two decodes of a short window per token (the text before and after the new
    id; a delta ending in U+FFFD is held back until its character is whole)."""

    def __init__(self, tokenizer):
        self.tokenizer = tokenizer
        self.backend = getattr(tokenizer, "backend_tokenizer", None)
        self.stream = None
        if self.backend is not None:
            from tokenizers.decoders import DecodeStream

            self.stream = DecodeStream(skip_special_tokens=True)
        self.ids: list[int] = []
        self.prefix_offset = 0
        self.read_offset = 0

    def add(self, token_id: int) -> str:
        """The text `token_id` completes ("" while a character is still partial)."""
        if self.stream is not None:
            return self.stream.step(self.backend, token_id) or ""
        self.ids.append(token_id)
        decode = self.tokenizer.decode
        prefix = decode(self.ids[self.prefix_offset : self.read_offset], skip_special_tokens=True)
        text = decode(self.ids[self.prefix_offset :], skip_special_tokens=True)
        if len(text) > len(prefix) and not text.endswith("\ufffd"):
            self.prefix_offset = self.read_offset
            self.read_offset = len(self.ids)
            return text[len(prefix) :]
        return ""


class StopMatcher:
    """Finds the first stop string in streamed text; holds back what could be the start of one.
    `keep`: the stop string stays in the text (vLLM's `include_stop_str_in_output`)."""

    def __init__(self, stops: tuple[str, ...], keep: bool = False):
        self.stops = stops
        self.keep = keep
        self.pending = ""
        self.matched: str | None = None

    def feed(self, text: str, active: bool = True) -> tuple[str, bool]:
        """Returns (text safe to emit, whether a stop string ended the text). While not
        `active` (before `min_tokens`), text passes unmatched."""
        buf = self.pending + text
        if not self.stops or not active:
            self.pending = ""
            return buf, False
        hits = [(buf.find(s), s) for s in self.stops if s in buf]
        if hits:
            index, self.matched = min(hits)
            self.pending = ""
            return buf[: index + (len(self.matched) if self.keep else 0)], True
        hold = 0
        for s in self.stops:
            for k in range(min(len(s) - 1, len(buf)), hold, -1):
                if buf.endswith(s[:k]):
                    hold = k
                    break
        self.pending = buf[len(buf) - hold :]
        return buf[: len(buf) - hold], False

    def flush(self) -> str:
        text, self.pending = self.pending, ""
        return text


def token_logprob(tokenizer, token_id: int, logprob: float | None,
                  top: list[tuple[int, float]]) -> TokenLogprob:
    """`token_id`'s log-probability (None for a prompt's first token) and its `top`
    alternatives, given as (id, logprob) most likely first, with each token's text and bytes."""
    def text(i: int) -> tuple[str, list[int]]:
        t = tokenizer.decode([i], skip_special_tokens=False)
        return t, list(t.encode("utf-8"))

    token, raw = text(token_id)
    return TokenLogprob(token=token, logprob=logprob, bytes=raw,
                        top=[(t, lp, b) for (t, b), lp in ((text(i), lp) for i, lp in top)])


def prompt_logprobs(tokenizer, ids: list[int],
                    scored: list[tuple[float, list[tuple[int, float]]]]) -> list[TokenLogprob]:
    """A prompt's tokens with their log-probabilities: `scored` holds (logprob, top) for every
    token but the first, which comes back with None (OpenAI's `echo` with `logprobs`)."""
    return [token_logprob(tokenizer, ids[0], None, []),
            *(token_logprob(tokenizer, i, lp, top) for i, (lp, top) in zip(ids[1:], scored))]


class SequenceState:
    """Everything one request in a batch carries from step to step."""

    def __init__(self, req: PreparedRequest, tokenizer, think_ids, eos_ids: set[int]):
        self.req = req
        self.tokenizer = tokenizer
        self.eos_ids = eos_ids
        start_id, end_id = think_ids if req.thinking else (None, None)
        self.parser = ReasoningParser(start_id, end_id, opened=req.prompt_opens_thinking)
        self.detok = {"thinking": IncrementalDetokenizer(tokenizer),
                      "content": IncrementalDetokenizer(tokenizer)}
        self.stop = StopMatcher(req.sampling.stop, req.sampling.include_stop_str_in_output)
        self.generated: list[int] = []  # sampled ids but EOS
        self.n_sampled = 0  # every sampled id, EOS included, as OpenAI counts usage
        self.n_thinking = 0  # the thinking, its tags included
        self.n_thought = 0  # the thinking's own tokens, tags aside (what a budget counts)
        self.content_started = False
        self.finish_reason: str | None = None

    @property
    def finished(self) -> bool:
        return self.finish_reason is not None

    def add(self, token_id: int, logprob: tuple[float, list[tuple[int, float]]] | None = None
            ) -> Chunk | None:
        """Takes one sampled token (and, when the request asked for them, its log-probability
        and the top alternatives as (id, logprob)); returns the text it released, or None."""
        chunk = Chunk()
        self.n_sampled += 1
        s = self.req.sampling
        if token_id in self.eos_ids and not s.ignore_eos and self.n_sampled > s.min_tokens:
            return self.finish("stop", chunk)
        self.generated.append(token_id)
        channel = self.parser.route(token_id)
        self.n_thinking += channel != "content"
        self.n_thought += channel == "thinking"
        if channel == "thinking":
            chunk.thinking = self.detok["thinking"].add(token_id)
        elif channel == "content":
            if logprob is not None:
                chunk.logprobs.append(self._logprob(token_id, logprob))
            text, stopped = self.stop.feed(self.detok["content"].add(token_id),
                                           active=self.n_sampled > s.min_tokens)
            chunk.content = self._content(text)
            if stopped:
                return self.finish("stop", chunk)
        if len(self.generated) >= s.max_new_tokens:
            return self.finish("length", chunk)
        return chunk if (chunk.content or chunk.thinking or chunk.logprobs) else None

    def _logprob(self, token_id: int, logprob: tuple[float, list[tuple[int, float]]]) -> TokenLogprob:
        return token_logprob(self.tokenizer, token_id, *logprob)

    def cancel(self) -> Chunk:
        return self.finish("cancelled", Chunk())

    def fail(self, message: str) -> Chunk:
        """This request failed alone (its own values broke a step): the final chunk, `error`."""
        chunk = self.finish("error", Chunk())
        chunk.content = ""
        chunk.error = message
        return chunk

    def budget_spent(self) -> bool:
        """Whether this request is thinking and has thought `max_thinking_tokens` tokens."""
        budget = self.req.sampling.max_thinking_tokens
        return (budget is not None and self.parser.state == "thinking"
                and self.n_thought >= budget)

    def in_answer(self) -> bool:
        """Whether the next token belongs to the answer (not thinking, not a tag)."""
        return self.parser.state == "content"

    def end(self, reason: str) -> Chunk:
        """The engine ended the request for a reason of its own (vLLM: a stop token this state
        does not know, its length limit): the final chunk, with what the stop matcher held."""
        return self.finish(reason if reason in ("stop", "length") else "stop", Chunk())

    def finish(self, reason: str, chunk: Chunk) -> Chunk:
        self.finish_reason = reason
        if self.stop.matched is None:
            chunk.content += self._content(self.stop.flush())
        chunk.finish_reason = reason
        chunk.prompt_tokens = len(self.req.prompt_ids)
        chunk.completion_tokens = self.n_sampled
        chunk.thinking_tokens = self.n_thinking
        chunk.response = self._response()
        return chunk

    def _content(self, text: str) -> str:
        # After </think> Qwen writes blank lines before the answer; the answer starts at its text.
        if not self.content_started and self.parser.thought:
            text = text.lstrip()
        if text:
            self.content_started = True
        return text

    def _response(self) -> str:
        text = self.tokenizer.decode(self.generated, skip_special_tokens=False)
        if self.stop.matched and not self.stop.keep:
            text = text[: text.rfind(self.stop.matched)]
        return text
