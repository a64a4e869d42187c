"""One request's failure is its own: rows that fail inside a running batch, on both engines.

Each test runs a batch of innocent requests (greedy and seeded sampling, different lengths) with
failing rows injected beside them, and checks that every innocent row got exactly what it gets
alone and that each failing row ended with `error`. The counts go to out/reliability.json.

Faults are injected at the engine seam's per-row code, the way a bad value would break it:
- hf: a `logit_bias` token id past the vocabulary (the prompt builder refuses one; here it is put
  in after `prepare`, as a value that passed validation and still breaks the sampling step), and a
  grammar whose matcher raises on its 4th token (a row failing mid-stream, after it has decoded);
- both engines: the row's detokenizing state raising on its 3rd token.
"""

from __future__ import annotations

import asyncio
from dataclasses import replace

import pytest

from serve.api.protocol import GenerationParams
from serve.engines.text import SequenceState
from serve.generation import Accumulator, GenerationRequest
from server.ledger import record, write

INNOCENT = [
    ("the quick brown fox", {"max_new_tokens": 12}),
    ("apples bananas", {"max_new_tokens": 20, "temperature": 1.0, "seed": 7}),
    ("9.11 or 9.8", {"max_new_tokens": 8, "temperature": 0.8, "top_p": 0.9, "seed": 3}),
    ("hello world", {"max_new_tokens": 16, "frequency_penalty": 0.5}),
    ("stop end of text", {"max_new_tokens": 10, "logprobs": True, "top_logprobs": 2}),
]


def _request(rid: str, prompt: str, params: dict) -> GenerationRequest:
    return GenerationRequest(request_id=rid, prompt=prompt, raw=True, params=GenerationParams(**params))


async def _run(engine, prepared):
    acc, error = Accumulator(0.0), None
    async for chunk in engine.stream(prepared):
        acc.add(chunk, 0.0)
        if chunk.finish_reason == "error":
            error = chunk.error
    return acc.completion(engine.model_id, 0.0), error


class _FailingGrammar:
    """A grammar that allows every token and raises on the row's 4th token."""

    def __init__(self):
        self.seen = 0

    def mask(self, logits):
        pass

    def accept(self, token_id):
        self.seen += 1
        if self.seen == 4:
            raise RuntimeError("injected grammar failure")


@pytest.fixture
def failing_detokenizer(monkeypatch):
    """Rows whose request id starts with `poison` raise in their text state at their 3rd token."""
    add = SequenceState.add

    def poisoned(self, token_id, logprob=None):
        if self.req.request_id.startswith("poison") and self.n_sampled == 2:
            raise ValueError("injected detokenizer failure")
        return add(self, token_id, logprob)

    monkeypatch.setattr(SequenceState, "add", poisoned)


def _poisoned(engine, kind: str, k: int):
    prepared = engine.prepare(_request(f"poison-{kind}-{k}", "the quick brown fox",
                                       {"max_new_tokens": 16}))
    if kind == "logit_bias":
        prepared.sampling = replace(prepared.sampling, logit_bias=((10**9, 5.0),))
    elif kind == "grammar":
        prepared.grammar = _FailingGrammar()
    return prepared


def _check_batch(driver, kinds: list[str], label: str):
    engine = driver.engine
    alone = [driver.run(lambda e, i=i, p=p, o=o: _run(e, e.prepare(_request(f"alone-{i}", p, o))))[0]
             for i, (p, o) in enumerate(INNOCENT)]

    async def batch(e):
        innocent = [e.prepare(_request(f"batch-{i}", p, o)) for i, (p, o) in enumerate(INNOCENT)]
        poison = [_poisoned(e, kind, k) for k, kind in enumerate(kinds)]
        # Interleaved, and the poisoned rows join while the others already decode.
        first = [asyncio.create_task(_run(e, p)) for p in innocent[:3]]
        await asyncio.sleep(0.05)
        rest = [asyncio.create_task(_run(e, p)) for p in [*poison, *innocent[3:]]]
        return await asyncio.gather(*first, *rest)

    results = driver.run(batch)
    n = len(kinds)
    innocent_results = results[:3] + results[3 + n:]
    poison_results = results[3:3 + n]
    failed = sum(1 for (c, err) in innocent_results if err is not None)
    changed = sum(1 for (c, _), a in zip(innocent_results, alone)
                  if (c.response, c.finish_reason) != (a.response, a.finish_reason))
    for _ in poison_results:
        record(f"{label}: failing rows injected", "ended with error" if _[1] else "NOT failed")
    for (c, err), a in zip(innocent_results, alone):
        outcome = "failed" if err else "changed" if c.response != a.response else "unaffected"
        record(f"{label}: innocent rows beside them", outcome)
    write()
    assert all(err for _, err in poison_results), "every injected row ends with its error"
    assert (failed, changed) == (0, 0)
    assert [lp.token for lp in innocent_results[4][0].logprobs] == [
        lp.token for lp in alone[4].logprobs]


def test_hf_rows_failing_in_sampling_and_grammar_fail_alone(drivers):
    _check_batch(drivers("hf"), ["logit_bias", "grammar", "logit_bias"], "hf sampling/grammar")


@pytest.mark.usefixtures("failing_detokenizer")
@pytest.mark.parametrize("kind", ["hf", "vllm"])
def test_rows_failing_in_detokenizing_fail_alone(drivers, kind):
    _check_batch(drivers(kind), ["text", "text"], f"{kind} detokenizing")
