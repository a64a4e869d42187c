"""Pick the next token for every row of a batch, each row with its own parameters.

transformers' `generate` applies one set of sampling parameters to the whole batch; triserve
batches requests that ask for different ones, so it samples here. A row's randomness comes only
from its own generator (seeded from the request's `seed`), so what a request gets never depends
on what it was batched with.
"""

from __future__ import annotations

import secrets

import torch

from serve.generation import SamplingParams


class RowSampler:
    """One request's sampling parameters and random stream."""

    def __init__(self, params: SamplingParams, prompt_ids: list[int]):
        self.params = params
        self.generator = torch.Generator().manual_seed(
            params.seed if params.seed is not None else secrets.randbits(63)
        )
        # Ids seen so far, for the repetition penalty (prompt and output, as transformers does).
        self.seen = set(prompt_ids) if params.repetition_penalty != 1.0 else None

    def observe(self, token_id: int) -> None:
        if self.seen is not None:
            self.seen.add(token_id)


def _penalise(logits: torch.Tensor, rows: list[RowSampler]) -> None:
    for i, row in enumerate(rows):
        if row.seen:
            ids = torch.tensor(sorted(row.seen), dtype=torch.long, device=logits.device)
            picked = logits[i, ids]
            penalty = row.params.repetition_penalty
            logits[i, ids] = torch.where(picked > 0, picked / penalty, picked * penalty)


def sample_next(logits: torch.Tensor, rows: list[RowSampler]) -> list[int]:
    """logits: [batch, vocab] float32 of the last position. Returns one token id per row."""
    _penalise(logits, rows)
    choice = logits.argmax(dim=-1)
    sampled = [i for i, r in enumerate(rows) if not r.params.greedy]
    # Rows that truncate (top-k/top-p/min-p) sample from sorted probabilities, the others from
    # the vocabulary order; each row always takes its own path, whatever its batch-mates do, so
    # that the same seed gives the same tokens alone or batched.
    truncating = [i for i in sampled if _truncates(rows[i].params)]
    plain = [i for i in sampled if not _truncates(rows[i].params)]
    for group, truncate in ((plain, False), (truncating, True)):
        if group:
            choice[torch.tensor(group, device=logits.device)] = _draw(logits, rows, group, truncate)
    out = choice.tolist()
    for row, token in zip(rows, out):
        row.observe(token)
    return out


def _truncates(p: SamplingParams) -> bool:
    return bool(p.top_k) or p.top_p < 1.0 or p.min_p > 0.0


def _draw(logits: torch.Tensor, rows: list[RowSampler], group: list[int], truncate: bool) -> torch.Tensor:
    """Inverse-CDF sampling for the rows in `group`, each with its own temperature and draw."""
    idx = torch.tensor(group, device=logits.device)
    params = [rows[i].params for i in group]
    temps = torch.tensor([p.temperature for p in params], device=logits.device)
    scaled = logits[idx] / temps[:, None]
    if truncate:
        values, order = scaled.sort(dim=-1, descending=True)
        probs = _truncate(values.softmax(dim=-1), params)
    else:
        order = None
        probs = scaled.softmax(dim=-1)
    cdf = probs.cumsum(dim=-1)
    u = torch.cat([torch.rand(1, generator=rows[i].generator) for i in group]).to(cdf)
    pick = torch.searchsorted(cdf, (u * cdf[:, -1])[:, None]).clamp(max=cdf.shape[-1] - 1)
    tokens = order.gather(1, pick) if order is not None else pick
    return tokens[:, 0]


def _truncate(probs: torch.Tensor, params: list[SamplingParams]) -> torch.Tensor:
    """top-k, top-p and min-p on probabilities sorted in descending order (each row its own)."""
    n, vocab = probs.shape
    rank = torch.arange(vocab, device=probs.device)[None, :]
    top_k = torch.tensor([p.top_k or vocab for p in params], device=probs.device)
    top_p = torch.tensor([p.top_p for p in params], device=probs.device, dtype=probs.dtype)
    min_p = torch.tensor([p.min_p for p in params], device=probs.device, dtype=probs.dtype)
    before = probs.cumsum(dim=-1) - probs  # mass strictly above each token
    drop = (rank >= top_k[:, None]) | (before > top_p[:, None]) | (probs < min_p[:, None] * probs[:, :1])
    drop[:, 0] = False  # the most likely token always stays
    return probs.masked_fill(drop, 0.0)
