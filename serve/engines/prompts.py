"""Prompt rendering and tokenizing shared by the engines that run a real tokenizer (hf, vllm).

Both render chat prompts with the tokenizer's own chat template and hand the engine token ids, so
a prompt is the same tokens on either engine, and the thinking split (serve/engines/text.py)
runs on the same ids.
"""

from __future__ import annotations

from serve.config import RoleConfig
from serve.engines.base import build_messages, resolve_sampling, uses_raw_prompt
from serve.engines.reasoning import think_token_ids
from serve.errors import InvalidRequest
from serve.generation import GenerationRequest, PreparedRequest


class PromptBuilder:
    """Turns a `GenerationRequest` into a `PreparedRequest` with one tokenizer.

    `max_input_tokens` is the longest prompt accepted: the role's cap, lowered by the engine to
    what its context holds beside the request's `max_new_tokens` (vLLM's `max_model_len`)."""

    def __init__(self, tokenizer, config: RoleConfig, model_id: str,
                 context_tokens: int | None = None):
        self.tokenizer = tokenizer
        self.config = config
        self.model_id = model_id
        self.context_tokens = context_tokens
        self.think_ids = think_token_ids(tokenizer)

    def prepare(self, req: GenerationRequest) -> PreparedRequest:
        """Raises `InvalidRequest`: no chat template for a chat prompt (param `prompt` or
        `messages`), or a prompt over the role's or the context's limit
        (code `context_length_exceeded`)."""
        cfg = self.config
        sampling = resolve_sampling(req.params, cfg)
        raw = uses_raw_prompt(req, cfg)
        thinking = (cfg.reasoning and sampling.enable_thinking and not raw
                    and None not in self.think_ids)
        if raw:
            param = "prompt"
            ids = self.tokenizer(req.prompt, add_special_tokens=True)["input_ids"]
        else:
            param = "messages" if req.messages is not None else "prompt"
            if not self.tokenizer.chat_template:
                raise InvalidRequest(
                    f"model {self.model_id!r} has no chat template; send a raw prompt",
                    param=param,
                )
            extra = {"enable_thinking": sampling.enable_thinking} if cfg.reasoning else {}
            text = self.tokenizer.apply_chat_template(
                build_messages(req, cfg), tokenize=False, add_generation_prompt=True, **extra
            )
            ids = self.tokenizer(text, add_special_tokens=False)["input_ids"]
        limit, why = cfg.max_input_tokens, "this role accepts at most"
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
        return PreparedRequest(
            request_id=req.request_id,
            prompt_ids=ids,
            sampling=sampling,
            thinking=thinking,
            prompt_opens_thinking=thinking and self._opens_thinking(ids),
        )

    def _opens_thinking(self, ids: list[int]) -> bool:
        start, end = self.think_ids
        # The generation prompt's last few tokens: "<think>\n" or "<think>\n\n</think>\n\n".
        tail = ids[-4:]
        return start in tail and end not in tail
