"""A scripted engine: deterministic text, set delays, injectable faults; no model at all.

It stands at the engine seam only, for what a real model cannot do on demand: sleep a known time
(the fan-out test, overhead benchmarks), fail, or report itself unhealthy. Text still goes through
the same stop-string handling as the real engines'. Requests are independent: each runs its
script on the event loop, so any number run at once.
"""

from __future__ import annotations

import asyncio
import json
import os
from typing import AsyncIterator

from serve.engines.base import Engine, build_messages, uses_raw_prompt
from serve.engines.text import StopMatcher
from serve.generation import Chunk, GenerationRequest, PreparedRequest, resolve_sampling


class ScriptedEngine(Engine):
    """Emits `config.scripted.think` (when the request thinks) then `config.scripted.tokens`,
    one piece a step, `token_s` apart after `prefill_s`; a word of the prompt counts as a token."""

    async def start(self) -> None:
        self.script = self.config.scripted

    async def warm_up(self) -> None:
        """Nothing to warm; a script that fails must fail requests, not the replica's start."""

    # Tool calls are read from text (serve/replica/tool_calls.py); the parser asks for a tokenizer only
    # to read token-level tags, which a script has none of.
    tokenizer = "script"

    def prepare(self, req: GenerationRequest) -> PreparedRequest:
        sampling = resolve_sampling(req.params, self.config)
        raw = uses_raw_prompt(req, self.config)
        messages = None if raw else build_messages(req, self.config)
        if raw and not isinstance(req.prompt, str):  # token ids
            ids, text = list(req.prompt), " ".join(map(str, req.prompt))
        else:
            text = req.prompt if raw else " ".join(m["content"] for m in messages)
            ids = list(range(len(text.split())))  # a word a token
        if self.script.record_file:
            self._record({"request_id": req.request_id, "prompt": text if raw else None,
                          "messages": messages, "seed": sampling.seed})
        return PreparedRequest(
            request_id=req.request_id,
            prompt_ids=ids,
            sampling=sampling,
            thinking=self.config.reasoning and sampling.enable_thinking and not raw,
            echo=text if req.echo else None,
            score_only=req.score_only,
        )

    def _record(self, entry: dict) -> None:
        # One short append a request, on the replica's loop: test use only (`record_file`).
        with open(self.script.record_file, "a", encoding="utf-8") as f:
            f.write(json.dumps(entry) + "\n")

    async def check_health(self) -> None:
        if self.script.unhealthy_file and os.path.exists(self.script.unhealthy_file):
            raise RuntimeError(f"unhealthy: {self.script.unhealthy_file} exists")

    def _pieces(self, req: PreparedRequest) -> list[tuple[str, str]]:
        think = [("thinking", t) for t in self.script.think] if req.thinking else []
        return think + [("content", t) for t in self.script.tokens]

    async def stream(self, req: PreparedRequest) -> AsyncIterator[Chunk]:
        if self.script.fail_with:
            raise RuntimeError(self.script.fail_with)  # as a crashing model would
        await asyncio.sleep(self.script.prefill_s)
        script = self._pieces(req)
        stop = StopMatcher(req.sampling.stop)
        text = ""
        for step, (channel, piece) in enumerate(script):
            if step:
                await asyncio.sleep(self.script.token_s)
            chunk = Chunk()
            if req.cancelled.is_set():
                chunk.finish_reason = "cancelled"
            else:
                if channel == "thinking":
                    chunk.thinking = piece
                else:
                    chunk.content, stopped = stop.feed(piece)
                    if stopped:
                        chunk.finish_reason = "stop"
                text += piece
                if chunk.finish_reason is None:
                    if step + 1 == len(script):
                        chunk.finish_reason = "stop"
                    elif step + 1 >= req.sampling.max_new_tokens:
                        chunk.finish_reason = "length"
            if chunk.finish_reason:
                if stop.matched is None:
                    chunk.content += stop.flush()
                chunk.prompt_tokens = len(req.prompt_ids)
                chunk.completion_tokens = step + 1
                chunk.thinking_tokens = sum(c == "thinking" for c, _ in script[: step + 1])
                chunk.response = text
                yield chunk
                return
            yield chunk
