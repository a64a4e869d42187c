"""Continuing the prompt versus answering it, and repetition in Chinese, on known texts: the base
model's answers quoted in issue 14 (Gemma 3 270M on the CPU demo) beside plain answers."""

from __future__ import annotations

import pytest

from clients.study import load_probes, score
from clients.study import measures as m
from clients.study.continuation import continuation
from serve.api.protocol import RoleResult

FRUIT = "苹果、香蕉、橘子、胡萝卜"
DECIMAL = "9.11和9.8哪个更大？"
VAGUE = "帮我整理一下那个东西，明天要用。"
PROBES = {p.id: p for p in load_probes()}
PLAN = PROBES["cet4-plan"].text
SUMMARY = PROBES["summary-prefix"].instruction  # the input left out

CONTINUING = [  # (prompt, answer, cue)
    (FRUIT, "、果干、金罗、葡萄干、核桃仁", "joins"),            # issue 14, the list carried on
    (FRUIT, "葡萄、西瓜、芒果、哈密瓜\n草莓、蓝莓", "list"),       # more items, no answer
    (FRUIT, "苹果、香蕉、橘子、胡萝卜\n苹果、香蕉、橘子", "list"),   # the list repeated
    (DECIMAL, "9.8和9.12哪个大更好 … 9.11和9.5哪个大更好?", "echo"),  # issue 14
    (DECIMAL, "9.8和9.12哪个大更好\n9.11和9.5哪个大更好?\n9.7和9.10哪个大？", "echo"),
    (DECIMAL, "9.11和9.8哪个更大？\n9.11和9.8哪个更大？\n9.11和9.8哪个更大？", "echo"),
    (VAGUE, "帮我整理一下那个东西，后天要用。帮我整理一下这个东西，明天要交。", "echo"),
    ("The capital of France", "is Paris, and the capital of Spain is Madrid.", "joins"),
    # Gemma 3 270M on the CPU demo (triserve study, 2026-11-30):
    (FRUIT, '等水果"木"材，也为人们的饮食带来了健康。', "joins"),
    (SUMMARY, "然而，未来，我们还需要进一步探索深度学习的潜在价值。", "joins"),
    (DECIMAL, "\n\n10.  在下面的图中，a与b是 y-轴所受的最大作用的倍数。", "paragraph"),
    (VAGUE, "\n\n这个是我想到了的，用了很久的，到现在还没出售。", "paragraph"),
]

ANSWERING = [
    (FRUIT, "苹果、香蕉、橘子是水果，胡萝卜是蔬菜。"),
    (FRUIT, "苹果、香蕉、橘子是水果。"),
    (FRUIT, "这是四种常见的食物：苹果、香蕉和橘子是水果，胡萝卜是蔬菜。你想了解它们的营养吗？"),
    (FRUIT, "- 苹果：水果\n- 胡萝卜：蔬菜"),
    (DECIMAL, "9.8更大。"),
    (DECIMAL, "9.8更大。因为9.8 = 9.80，而9.80 > 9.11。"),
    (DECIMAL, "9.11 is smaller than 9.8, so 9.8 is larger."),
    (DECIMAL, "比较小数部分：0.11 < 0.8，所以9.11小于9.8。"),
    (VAGUE, "好的，请问你说的“那个东西”具体是指什么？"),
    (PLAN, "以下是一个为期三个月的英语四级备考计划：\n第1周：词汇\n第2周：听力"),
    (SUMMARY, "结论：人工智能的发展靠数据、算法和算力三者共同支撑。"),
    (DECIMAL, ""),
    (DECIMAL, "的确，9.8更大。"),
    (VAGUE, "或许你指的是昨天的文件？"),
    (VAGUE, "等一下，你说的是哪个东西？"),
    # SmolLM2-135M-Instruct on the CPU demo: poor, but replies.
    (DECIMAL, "True. 9.8 is approximately 11.611238 bitcoin, and 9.11 is 9.99."),
    (PLAN, "为你以CET-4为协议，我是一个人工智能助手帮建订AR。"),
]


@pytest.mark.parametrize("prompt,answer,cue", CONTINUING)
def test_continuations_score_high_and_name_their_cue(prompt, answer, cue):
    result = continuation(prompt, answer)
    assert result.score == 1.0 and result.cue == cue, result
    assert result.detail


@pytest.mark.parametrize("prompt,answer", ANSWERING)
def test_answers_score_zero(prompt, answer):
    assert continuation(prompt, answer).score == 0.0


def test_blank_lines_after_thinking_are_the_templates():
    assert continuation(DECIMAL, "\n\n9.8更大。").cue == "paragraph"
    assert continuation(DECIMAL, "\n\n9.8更大。", after_thinking=True).score == 0.0


def test_echo_is_the_share_of_sentences():
    # A restated question and then the answer: half the sentences echo.
    result = continuation(DECIMAL, "9.11和9.8哪个更大？9.8更大，因为0.8大于0.11，所以是9.8。")
    assert (result.score, result.cue) == (0.5, "echo")


def test_the_probe_measures_against_its_instruction_not_its_input():
    probe = next(p for p in load_probes() if p.id == "summary-prefix")
    copy = probe.input  # a copy of the input is copies-input's business, not a continuation
    sample = score(probe, "base", 0, RoleResult(role="base", model="m", content=copy))
    assert sample.measures.continuation == 0.0
    fruit = next(p for p in load_probes() if p.id == "no-instruction")
    sample = score(fruit, "base", 0, RoleResult(role="base", model="m", content="、果干、金罗"))
    assert (sample.measures.continuation, sample.measures.continuation_cue) == (1.0, "joins")


def test_repetition_counts_chinese_characters_not_spaces():
    # No spaces at all: word 4-grams would see one "word"; character 4-grams see the loop.
    loop = "9.11和9.8哪个更大？" * 6
    assert m.repetition(loop) > 0.7
    assert m.repetition("9.8和9.12哪个大更好 9.11和9.5哪个大更好? 9.7和9.10哪个大更好?") > 0.15
    assert m.repetition("苹果、香蕉、橘子是水果，胡萝卜是蔬菜。") == 0.0
    assert m.units("9.8更大。abc def") == ["9.8", "更", "大", "。", "abc", "def"]
