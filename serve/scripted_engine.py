"""A scripted engine: deterministic text, set delays, injectable faults; no model at all.

It stands at the engine seam only, for what a real model cannot do on demand: sleep a known time
(the fan-out test, overhead benchmarks), fail, or report itself unhealthy. Text still goes through
the same stop-string handling as the real engine's.
"""

from __future__ import annotations

import os
import time
from typing import Iterator

from serve.engine import Engine, build_messages, resolve_sampling, uses_raw_prompt
from serve.generation import Chunk, GenerationRequest, PreparedRequest
from serve.sequence import StopMatcher


class ScriptedEngine(Engine):
    def start(self) -> None:
        self.script = self.config.scripted

    def prepare(self, req: GenerationRequest) -> PreparedRequest:
        sampling = resolve_sampling(req.params, self.config)
        raw = uses_raw_prompt(req, self.config)
        if raw:
            text = req.prompt
        else:
            text = " ".join(m["content"] for m in build_messages(req, self.config))
        return PreparedRequest(
            request_id=req.request_id,
            prompt_ids=list(range(len(text.split()))),  # a word a token
            sampling=sampling,
            thinking=self.config.reasoning and sampling.enable_thinking and not raw,
        )

    def check_health(self) -> None:
        if self.script.unhealthy_file and os.path.exists(self.script.unhealthy_file):
            raise RuntimeError(f"unhealthy: {self.script.unhealthy_file} exists")

    def _pieces(self, req: PreparedRequest) -> list[tuple[str, str]]:
        think = [("thinking", t) for t in self.script.think] if req.thinking else []
        return think + [("content", t) for t in self.script.tokens]

    def generate(self, batch: list[PreparedRequest]) -> Iterator[list[Chunk | None]]:
        if self.script.fail_with:
            raise RuntimeError(self.script.fail_with)  # as a crashing model would
        time.sleep(self.script.prefill_s)
        scripts = [self._pieces(r) for r in batch]
        stops = [StopMatcher(r.sampling.stop) for r in batch]
        texts = [""] * len(batch)
        done = [False] * len(batch)
        step = 0
        while not all(done):
            if step:
                time.sleep(self.script.token_s)
            out: list[Chunk | None] = [None] * len(batch)
            for i, req in enumerate(batch):
                if done[i]:
                    continue
                chunk = Chunk()
                if req.cancelled.is_set():
                    chunk.finish_reason = "cancelled"
                else:
                    channel, piece = scripts[i][step]
                    if channel == "thinking":
                        chunk.thinking = piece
                    else:
                        chunk.content, stopped = stops[i].feed(piece)
                        if stopped:
                            chunk.finish_reason = "stop"
                    texts[i] += piece
                    if chunk.finish_reason is None:
                        if step + 1 == len(scripts[i]):
                            chunk.finish_reason = "stop"
                        elif step + 1 >= req.sampling.max_new_tokens:
                            chunk.finish_reason = "length"
                if chunk.finish_reason:
                    if stops[i].matched is None:
                        chunk.content += stops[i].flush()
                    done[i] = True
                    chunk.prompt_tokens = len(req.prompt_ids)
                    chunk.completion_tokens = step + 1
                    chunk.thinking_tokens = sum(c == "thinking" for c, _ in scripts[i][: step + 1])
                    chunk.response = texts[i]
                out[i] = chunk
            step += 1
            yield out
