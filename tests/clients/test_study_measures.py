"""The study's measures, checks and probes file, on known texts (no server)."""

from __future__ import annotations

import pytest

from clients.study import Check, Context, ProbeFileError, load_probes, score
from clients.study import measures as m

# What a base model answered to the bare list in the study: it continued past its turn and
# wrote both sides of a made-up chat (the template's special tokens decoded away).
RUNAWAY = """苹果、香蕉、橘子、胡萝卜都是常见的水果和蔬菜。
user
那你能告诉我哪些是水果吗？
assistant
苹果、香蕉、橘子是水果，胡萝卜是蔬菜。
user
那你能告诉我哪些是水果吗？
assistant
苹果、香蕉、橘子是水果，胡萝卜是蔬菜。"""

GOOD_LIST = "这是四种常见的食物：苹果、香蕉和橘子是水果，胡萝卜是蔬菜。你想了解它们的营养吗？"

PROBES = {p.id: p for p in load_probes()}


def verdicts(probe_id: str, text: str) -> list[bool]:
    probe = PROBES[probe_id]
    return [c.passes(text, probe.context) for c in probe.checks]


def test_runaway_base_answer_is_caught():
    assert m.runaway_markers(RUNAWAY) == 4
    assert m.repetition(RUNAWAY) > 0.3
    assert verdicts("no-instruction", RUNAWAY) == [False, False]
    assert m.runaway_markers(GOOD_LIST) == 0 and m.repetition(GOOD_LIST) < 0.05
    assert verdicts("no-instruction", GOOD_LIST) == [True, True]
    # A role name inside a sentence is not a marker; template tokens are.
    assert m.runaway_markers("The user asked the assistant.") == 0
    assert m.runaway_markers("好的<|im_end|>\n<|im_start|>user") == 2


SOURCE = PROBES["summary-prefix"].input


@pytest.mark.parametrize("answer,expected", [
    ("结论：人工智能靠数据、算法和算力三者共同支撑。", [True, True, True]),
    ("  结论：数据、算法和算力是人工智能发展的三大支柱", [True, True, True]),
    ("结论:数据、算法和算力是人工智能发展的三大支柱。", [False, True, True]),  # ASCII colon
    ("**结论：**人工智能依赖三大支柱。", [False, True, True]),
    ("结论：人工智能依赖数据。但是算力也很重要。", [True, False, True]),  # two sentences
    ("总之，人工智能依赖数据、算法和算力。", [False, True, True]),
    # The input copied back: one sentence (the passage is one), so only the copy check fails.
    ("结论：" + SOURCE, [True, True, False]),
    ("结论：" + SOURCE + "这很重要。", [True, False, False]),
])
def test_summary_prefix_check(answer, expected):
    assert verdicts("summary-prefix", answer) == expected


@pytest.mark.parametrize("answer,expected", [
    ("9.8更大。因为9.8 = 9.80，而9.80 > 9.11。", [True, True]),
    ("比较小数部分：0.11 < 0.8，所以9.11小于9.8。", [True, True]),
    ("更大的是 9.8", [True, True]),
    ("9.11更大，因为11大于8。", [False, False]),
    ("9.11 > 9.8", [False, False]),
    ("这两个数差不多。", [False, True]),
])
def test_decimal_compare_check(answer, expected):
    assert verdicts("decimal-compare", answer) == expected


@pytest.mark.parametrize("answer,asks", [
    ("请问你说的“那个东西”具体是指什么？", True),
    ("Sure! Which one do you mean?", True),
    ("好的，请提供更多信息，我来帮你整理。", True),
    ("好的，我已经帮你整理好了，明天可以直接使用。", False),
])
def test_asks_question(answer, asks):
    assert verdicts("vague-request", answer) == [asks]


PLAN = """三个月四级备考计划
第1周：词汇（每天50个单词），听力短对话
第2周：词汇复习，阅读理解两篇
第3-4周：听力长对话，阅读仔细阅读
第5周：写作与翻译"""


def test_cet4_plan_structure():
    assert verdicts("cet4-plan", PLAN) == [True, True]
    assert verdicts("cet4-plan", "每天背单词，多做听力和阅读。") == [False, False]
    assert verdicts("cet4-plan", "Week 1: 词汇 Week 2: 听力 Week 3: 阅读") == [True, True]


def test_sentence_and_copy_measures():
    assert m.sentences("结论：人工智能正在改变教育。") == 1
    assert m.sentences("9.11比9.8小。所以 9.8 更大.") == 2  # decimals do not end sentences
    assert m.sentences("One. Two! Three?\nFour") == 4
    assert m.sentences("") == 0
    assert m.copy_ratio(SOURCE, SOURCE) == 1.0
    assert m.copy_ratio("完全不同的一句话，和原文没有关系。", SOURCE) == 0.0
    assert m.thinking_tokens(100, "a" * 30, "a" * 30 + "b" * 70) == 30
    assert m.thinking_tokens(100, None, "abc") == 0


def test_check_types_and_negation():
    ctx = Context()
    assert Check(type="contains", value="香蕉").passes("苹果香蕉", ctx)
    assert Check(type="not-contains", value="香蕉").passes("苹果", ctx)
    assert Check(type="icontains", value="WEEK").passes("week 1", ctx)
    assert Check(type="contains-any", value=["x", "果"]).passes("苹果", ctx)
    assert not Check(type="contains-all", value=["x", "果"]).passes("苹果", ctx)
    assert Check(type="equals", value="ok").passes(" ok\n", ctx)
    assert Check(type="regex", value=r"\d", min_count=2).passes("a1b2", ctx)
    assert not Check(type="regex", value=r"\d", min_count=3).passes("a1b2", ctx)
    assert Check(type="max-repetition", value=0.1).passes(GOOD_LIST, ctx)
    assert Check(type="runaway").passes(RUNAWAY, ctx)


@pytest.mark.parametrize("text,error", [
    ("probes:\n- {id: a, title: t, prompt: p, checks: [{type: nice}]}", "unknown check type"),
    ("probes:\n- {id: a, title: t, prompt: p, checks: [{type: contains}]}", "needs a value"),
    ("probes:\n- {id: a, title: t, prompt: p, checks: [{type: regex, value: '('}]}", "regex"),
    ("probes:\n- {id: a, title: t, prompt: p, input: x}", "{{input}}"),
    ("probes:\n- {id: a, title: t, prompt: p}\n- {id: a, title: u, prompt: q}", "repeat"),
    ("probes:\n- {id: a, title: t, prompt: p, colour: red}", "colour"),
    ("probes: [", "while parsing"),
])
def test_bad_probe_files_fail_clearly(tmp_path, text, error):
    path = tmp_path / "probes.yaml"
    path.write_text(text, "utf-8")
    with pytest.raises(ProbeFileError, match=None) as err:
        load_probes(path)
    assert error in str(err.value) and str(path) in str(err.value)


def test_builtin_probes_are_the_study_five():
    assert list(PROBES) == ["no-instruction", "summary-prefix", "decimal-compare",
                            "vague-request", "cet4-plan"]
    assert PROBES["no-instruction"].text == "苹果、香蕉、橘子、胡萝卜"
    summary = PROBES["summary-prefix"].text
    assert "{{input}}" not in summary and SOURCE in summary


def test_score_fails_checks_of_an_errored_answer():
    from serve.api.protocol import ErrorInfo, RoleResult

    ok = score(PROBES["vague-request"], "instruct", 0,
               RoleResult(role="instruct", model="m", content="你指的是哪个东西？"))
    failed = score(PROBES["vague-request"], "instruct", 0, RoleResult(
        role="instruct", model="m", finish_reason="error",
        error=ErrorInfo(message="boom", type="server_error")))
    assert [v for _, v in ok.checks] == [True] and [v for _, v in failed.checks] == [False]
