"""Prompt log-probabilities (`/v1/completions` `echo` with `logprobs`) on both engines, on the
same tiny float32 model: every prompt token but the first scored, with its alternatives, and the
two engines agreeing (vLLM's `prompt_logprobs` against our one forward pass)."""

from __future__ import annotations

import math

import pytest

from test_contract import request

PROMPT = "the quick brown fox jumps over the lazy dog"


def scored(driver, k: int):
    req = request(PROMPT, raw=True, logprobs=True, top_logprobs=k)
    return driver.run(lambda e: e.prompt_logprobs(e.prepare(req)))


def test_each_prompt_token_is_scored_but_the_first(driver):
    ids = driver.engine.tokenizer(PROMPT)["input_ids"]
    out = scored(driver, 3)
    assert len(out) == len(ids)
    first, rest = out[0], out[1:]
    assert first.logprob is None and first.top == []
    assert "".join(lp.token for lp in out) == driver.engine.tokenizer.decode(ids)
    for lp in rest:
        assert lp.logprob <= 0 and len(lp.top) == 3
        values = [v for _, v, _ in lp.top]
        assert values == sorted(values, reverse=True)
        # The chosen token is among the top ones exactly when it is at least the third best.
        assert (lp.token in [t for t, _, _ in lp.top]) == (lp.logprob >= values[-1] - 1e-6)
    assert all(lp.top == [] for lp in scored(driver, 0))  # k = 0: the chosen token alone


def test_prompt_logprobs_agree_across_engines(drivers):
    hf, vllm = scored(drivers("hf"), 2), scored(drivers("vllm"), 2)
    assert [lp.token for lp in hf] == [lp.token for lp in vllm]
    for a, b in zip(hf[1:], vllm[1:]):
        assert a.logprob == pytest.approx(b.logprob, abs=1e-3)  # float32 on both
        assert [t for t, _, _ in a.top] == [t for t, _, _ in b.top]
        assert all(math.isclose(x, y, abs_tol=1e-3)
                   for (_, x, _), (_, y, _) in zip(a.top, b.top))
