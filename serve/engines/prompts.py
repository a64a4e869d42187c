"""Prompt rendering and tokenizing shared by the engines that run a real tokenizer (hf, vllm).

Both render chat prompts with the tokenizer's own chat template and hand the engine token ids, so
a prompt is the same tokens on either engine, and the thinking split (serve/engines/text.py)
runs on the same ids.
"""

from __future__ import annotations

from dataclasses import replace

from serve.config import RoleConfig
from serve.engines.base import build_messages, uses_raw_prompt
from serve.engines.reasoning import think_token_ids
from serve.errors import InvalidRequest
from serve.generation import GenerationRequest, PreparedRequest, SamplingParams, resolve_sampling


class PromptBuilder:
    """Turns a `GenerationRequest` into a `PreparedRequest` with one tokenizer.

    `vocab_size` is the model's (its embedding rows; a tokenizer may have more entries or fewer);
    `context_tokens` the engine's context (vLLM's `max_model_len`), which lowers the longest
    prompt accepted to what it holds beside the request's `max_new_tokens`."""

    def __init__(self, tokenizer, config: RoleConfig, model_id: str, vocab_size: int,
                 context_tokens: int | None = None):
        self.tokenizer = tokenizer
        self.config = config
        self.model_id = model_id
        self.vocab_size = vocab_size
        self.context_tokens = context_tokens
        self.think_ids = think_token_ids(tokenizer)

    def prepare(self, req: GenerationRequest) -> PreparedRequest:
        """Raises `InvalidRequest`: no chat template for a chat prompt (param `prompt` or
        `messages`), token ids outside the vocabulary (`prompt`, `logit_bias`), or a prompt over
        the role's or the context's limit (code `context_length_exceeded`)."""
        cfg = self.config
        sampling = self._fit(resolve_sampling(req.params, cfg))
        raw = uses_raw_prompt(req, cfg)
        thinking = (cfg.reasoning and sampling.enable_thinking and not raw
                    and None not in self.think_ids)
        if raw:
            param = "prompt"
            ids = self._raw_ids(req.prompt)
        else:
            param = "messages" if req.messages is not None else "prompt"
            ids = self._chat_ids(req, sampling, param)
        self._check_length(ids, sampling, param)
        return PreparedRequest(
            request_id=req.request_id,
            prompt_ids=ids,
            sampling=sampling,
            thinking=thinking,
            prompt_opens_thinking=thinking and self._opens_thinking(ids),
            echo=self._echo_text(req) if req.echo else None,
            score_only=req.score_only,
        )

    def _fit(self, s: SamplingParams) -> SamplingParams:
        """Model-dependent bounds: `logit_bias` ids inside the vocabulary; a `top_k` of the
        vocabulary or more keeps all of it (off)."""
        bad = [i for i, _ in s.logit_bias if i >= self.vocab_size]
        if bad:
            raise InvalidRequest(
                f"logit_bias token id {bad[0]} is outside the vocabulary (0..{self.vocab_size - 1})",
                param="logit_bias")
        if s.top_k >= self.vocab_size:
            s = replace(s, top_k=0)
        return s

    def _raw_ids(self, prompt: str | list[int]) -> list[int]:
        if isinstance(prompt, str):
            return self.tokenizer(prompt, add_special_tokens=True)["input_ids"]
        bad = [i for i in prompt if not 0 <= i < self.vocab_size]
        if bad:
            raise InvalidRequest(
                f"prompt token id {bad[0]} is outside the vocabulary (0..{self.vocab_size - 1})",
                param="prompt")
        return list(prompt)

    def _chat_ids(self, req: GenerationRequest, sampling: SamplingParams, param: str) -> list[int]:
        cfg = self.config
        if not self.tokenizer.chat_template:
            raise InvalidRequest(
                f"model {self.model_id!r} has no chat template; send a raw prompt", param=param)
        extra = dict(req.template_kwargs)
        if cfg.reasoning:
            extra["enable_thinking"] = sampling.enable_thinking
        if req.tools:
            extra["tools"] = req.tools
        try:
            text = self.tokenizer.apply_chat_template(
                build_messages(req, cfg), tokenize=False, add_generation_prompt=True, **extra)
        except Exception as exc:  # jinja's TemplateError, or a template's raise_exception
            raise InvalidRequest(f"the chat template refused the request: {exc}",
                                 param="chat_template_kwargs" if req.template_kwargs else param)
        return self.tokenizer(text, add_special_tokens=False)["input_ids"]

    def _check_length(self, ids: list[int], sampling: SamplingParams, param: str) -> None:
        limit, why = self.config.max_input_tokens, "this role accepts at most"
        if self.context_tokens is not None and self.context_tokens - sampling.max_new_tokens < limit:
            limit = max(self.context_tokens - sampling.max_new_tokens, 0)
            why = (f"the model's context is {self.context_tokens} tokens; with max_new_tokens "
                   f"{sampling.max_new_tokens} it holds at most")
        if len(ids) > limit:
            raise InvalidRequest(
                f"the prompt is {len(ids)} tokens; {why} {limit}",
                param=param,
                code="context_length_exceeded",
            )

    def _echo_text(self, req: GenerationRequest) -> str:
        if isinstance(req.prompt, str):
            return req.prompt
        return self.tokenizer.decode(req.prompt, skip_special_tokens=False)

    def _opens_thinking(self, ids: list[int]) -> bool:
        start, end = self.think_ids
        # The generation prompt's last few tokens: "<think>\n" or "<think>\n\n</think>\n\n".
        tail = ids[-4:]
        return start in tail and end not in tail
