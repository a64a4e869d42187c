"""The thinking budget on both engines, on the same tiny random Qwen3 (which never closes its
thinking on its own): the budget is exact in tokens, the end of thinking is forced and an answer
follows, both engines give the same tokens, a budget of 0 is thinking off."""

from __future__ import annotations

import pytest

from test_contract import collect, one, request

QUESTION = "Which is larger, 9.11 or 9.8?"


@pytest.mark.parametrize("budget", [1, 6])
def test_the_budget_is_exact_and_an_answer_follows(driver, budget):
    out = one(driver, request(QUESTION, max_new_tokens=40, max_thinking_tokens=budget,
                              min_tokens=budget + 6))
    thought, answer = out.response.split("</think>")
    # Forced: "</think>" alone (serve/engines/reasoning.py says why); the answer is the model's.
    assert answer and out.content
    # A character cut in half by max_new_tokens: the whole decode shows U+FFFD, the streamed
    # answer never sends half a character.
    assert thought and out.content == answer.strip().rstrip("\ufffd")
    # Exact in tokens: the budget's tokens, then the forced </think> (usage counts them apart).
    assert out.thinking_tokens == budget + 1
    assert out.completion_tokens > out.thinking_tokens


def test_both_engines_spend_the_same_budget_the_same_way(drivers):
    outs = [one(drivers(kind), request(QUESTION, max_new_tokens=30, max_thinking_tokens=4,
                                       min_tokens=12)) for kind in ("hf", "vllm")]
    assert outs[0].response == outs[1].response
    assert (outs[0].thinking, outs[0].content) == (outs[1].thinking, outs[1].content)


def test_streamed_equals_whole(driver):
    req = request(QUESTION, max_new_tokens=30, max_thinking_tokens=5, min_tokens=12)
    whole, chunks = driver.run(lambda e: collect(e, req))
    assert "".join(c.thinking for c in chunks).strip() == whole.thinking
    assert "".join(c.content for c in chunks) == whole.content


def test_budget_zero_is_thinking_off(driver):
    zero = one(driver, request(QUESTION, max_new_tokens=12, max_thinking_tokens=0))
    off = one(driver, request(QUESTION, max_new_tokens=12, enable_thinking=False))
    assert zero.response == off.response and zero.thinking is None


def test_max_new_tokens_still_caps_the_total(driver):
    out = one(driver, request(QUESTION, max_new_tokens=5, max_thinking_tokens=20))
    assert out.completion_tokens == 5 and out.finish_reason == "length" and out.content == ""
