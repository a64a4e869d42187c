"""Pick the next token for every row of a batch, each row with its own parameters.

transformers' `generate` applies one set of sampling parameters to the whole batch; triserve
batches requests that ask for different ones, so it samples here. A row's randomness comes only
from its own generator (seeded from the request's `seed`), so what a request gets never depends
on what it was batched with.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Callable

import torch

from serve.generation import SamplingParams


class RowSampler:
    """One request's sampling parameters, random stream and logits processing.

    `grammar` (serve/engines/hf/grammar.py) constrains the answer; `in_answer` tells whether the
    next token belongs to the answer (a reasoning model's thinking is not constrained). When
    `budget_spent` says the thinking budget is spent, the next tokens are `forced_end` (the end of
    thinking), one a step, whatever the model prefers."""

    def __init__(self, params: SamplingParams, prompt_ids: list[int], eos_ids: set[int] = frozenset(),
                 grammar=None, in_answer: Callable[[], bool] = lambda: True,
                 budget_spent: Callable[[], bool] = lambda: False, forced_end: list[int] = ()):
        self.params = params
        self.generator = torch.Generator().manual_seed(
            params.seed if params.seed is not None else secrets.randbits(63)
        )
        # Ids seen so far, for the repetition penalty (prompt and output, as transformers does).
        self.seen = set(prompt_ids) if params.repetition_penalty != 1.0 else None
        # Output ids and their counts, for the presence and frequency penalties (OpenAI's
        # formula: logit − presence × [count > 0] − frequency × count, on generated tokens).
        self.counts: dict[int, int] | None = (
            {} if params.presence_penalty or params.frequency_penalty else None)
        self.eos_ids = sorted(eos_ids)
        # logit_bias as tensors once, not at every step (the ids were checked at prepare).
        self.bias = (torch.tensor([i for i, _ in params.logit_bias], dtype=torch.long),
                     torch.tensor([b for _, b in params.logit_bias])) if params.logit_bias else None
        self.grammar = grammar
        self.in_answer = in_answer
        self.budget_spent = budget_spent
        self.forced_end = list(forced_end)
        self.forcing: list[int] = []  # the end-of-thinking tokens still to force
        self.generated = 0

    def process(self, logits: torch.Tensor) -> None:
        """This row's logits [vocab], changed in place: penalties, bias, `min_tokens`, grammar.
        Raises when no token is left to sample."""
        p = self.params
        if self.seen:
            ids = torch.tensor(sorted(self.seen), dtype=torch.long, device=logits.device)
            picked = logits[ids]
            logits[ids] = torch.where(picked > 0, picked / p.repetition_penalty,
                                      picked * p.repetition_penalty)
        if self.counts:
            ids = torch.tensor(list(self.counts), dtype=torch.long, device=logits.device)
            counts = torch.tensor(list(self.counts.values()), dtype=logits.dtype, device=logits.device)
            logits[ids] -= p.presence_penalty + p.frequency_penalty * counts
        if self.bias is not None:
            ids, bias = self.bias
            logits[ids.to(logits.device)] += bias.to(logits.device, logits.dtype)
        if self.generated < p.min_tokens and self.eos_ids:
            logits[self.eos_ids] = -float("inf")
        if not self.forcing and p.max_thinking_tokens is not None and self.budget_spent():
            self.forcing = list(self.forced_end)
        # The forced end of thinking is no part of the answer the grammar binds: it starts after.
        if self.grammar is not None and self.in_answer() and not self.forcing:
            self.grammar.mask(logits)
        if self.forcing:
            forced = logits[self.forcing[0]].clone()
            logits.fill_(-float("inf"))
            logits[self.forcing[0]] = forced if torch.isfinite(forced) else 0.0
        if not torch.isfinite(logits).any():
            raise RuntimeError("no token is allowed next (grammar, min_tokens and bias together)")

    @property
    def plain(self) -> bool:
        """Nothing to process: the row's logits are sampled as they are."""
        p = self.params
        return not (self.seen or self.counts or p.logit_bias or self.grammar is not None
                    or p.max_thinking_tokens is not None
                    or (self.generated < p.min_tokens and self.eos_ids))

    def observe(self, token_id: int) -> None:
        self.generated += 1
        forced = bool(self.forcing)
        if forced:
            self.forcing.pop(0)
        if self.seen is not None:
            self.seen.add(token_id)
        if self.counts is not None:
            self.counts[token_id] = self.counts.get(token_id, 0) + 1
        if self.grammar is not None and self.in_answer() and not forced:
            self.grammar.accept(token_id)


@dataclass
class Pick:
    """One row's outcome of a step: its token (and log-probabilities when asked), or the error
    that ended this row alone."""

    token: int | None = None
    logprob: tuple[float, list[tuple[int, float]]] | None = None
    error: BaseException | None = None


def sample_next(logits: torch.Tensor, rows: list[RowSampler]) -> list[Pick]:
    """logits: [batch, vocab] float32 of the last position, changed in place. One `Pick` per row.

    A row whose processing or sampling raises gets its error in its `Pick`; every other row gets
    exactly the token it would get alone (its own parameters and random stream)."""
    picks = [Pick() for _ in rows]
    # Log-probabilities of the model's own distribution, before any processing (vLLM's default).
    asked = [i for i, r in enumerate(rows) if r.params.logprobs is not None]
    logsm = logits[asked].log_softmax(dim=-1) if asked else None
    for i, row in enumerate(rows):
        if row.plain:
            continue
        try:
            row.process(logits[i])
        except Exception as exc:
            picks[i].error = exc
            logits[i] = 0.0  # any finite row: the batch's draw goes on; this row's pick is dropped
    try:
        tokens = _choose(logits, rows)
    except Exception:  # one row's values broke the batched draw: draw each row alone
        tokens = [None] * len(rows)
        for i in range(len(rows)):
            try:
                tokens[i] = _choose(logits[i : i + 1], rows[i : i + 1])[0]
            except Exception as exc:
                picks[i].error = picks[i].error or exc
    for i, (row, token) in enumerate(zip(rows, tokens)):
        if picks[i].error is not None:
            continue
        try:
            row.observe(token)
        except Exception as exc:
            picks[i].error = exc
            continue
        picks[i].token = token
    for k, i in enumerate(asked):
        if picks[i].error is None:
            picks[i].logprob = _logprob(logsm[k], picks[i].token, rows[i].params.logprobs)
    return picks


def _logprob(logsm: torch.Tensor, token: int, top: int) -> tuple[float, list[tuple[int, float]]]:
    alternatives = []
    if top:
        values, ids = logsm.topk(top)
        alternatives = list(zip(ids.tolist(), values.tolist()))
    return float(logsm[token]), alternatives


def _choose(logits: torch.Tensor, rows: list[RowSampler]) -> list[int]:
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
    return choice.tolist()


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
