"""The judge's machinery on known answers, with judges whose verdicts are scripted in Python (no
server): both orders asked, thinking never shown, the scoring rule, failures recorded, intervals.
tests/clients/test_study_judge_serve.py runs the same through Ray Serve and the CLI."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from clients.study import Study, load_probes, parse_verdict, score, write_reports
from clients.study.budgets import budget_rows, parse_budgets
from clients.study.judge import Judge, judge_prompt, judge_study, strip_thinking
from clients.study.runner import budget_label
from clients.study.summary import summarize
from serve.api.protocol import ErrorInfo, GenerationParams, RoleResult, Usage

ANSWERS = {"base": "、果干、金罗", "instruct": "9.8更大。", "reasoning": "9.8 is larger."}
SECRET = "SECRET-THOUGHT-42"


class Scripted(Judge):
    """A judge that answers `decide(prompt)` and keeps every prompt it was given."""

    def __init__(self, decide):
        self.name, self.decide, self.prompts = "scripted", decide, []

    def ask(self, prompt: str) -> str:
        self.prompts.append(prompt)
        return self.decide(prompt)


def answer_a(prompt: str) -> str:
    return prompt.split("# Answer A\n", 1)[1].split("\n\n# Answer B", 1)[0]


def prefers(text: str):
    """A consistent judge: the answer that holds `text` wins, whichever position it has."""
    return lambda prompt: "Reasons.\nVERDICT: " + ("A" if text in answer_a(prompt) else "B")


def make_study(samples: int = 2, failing: tuple[str, str, int] | None = None) -> Study:
    probes = [p for p in load_probes() if p.id in ("no-instruction", "decimal-compare")]
    study = Study(server="http://test", models={r: r.upper() for r in ANSWERS}, probes=probes,
                  samples_per_probe=samples, params=GenerationParams(),
                  started=datetime(2026, 1, 1, tzinfo=timezone.utc))
    for probe in probes:
        for i in range(samples):
            for role, text in ANSWERS.items():
                thinking = SECRET if role == "reasoning" else None
                result = RoleResult(role=role, model="m", content=text, thinking=thinking,
                                    response=f"<think>{thinking}</think>{text}" if thinking
                                    else text, usage=Usage.of(3, 10 + i), latency_s=1.0 + i)
                if failing == (probe.id, role, i):
                    result = RoleResult(role=role, model="m", finish_reason="error",
                                        error=ErrorInfo(message="boom", type="server_error"))
                study.samples.append(score(probe, role, i, result))
    return study


def test_every_pair_is_asked_in_both_orders_without_the_thinking():
    study = make_study()
    judge = Scripted(prefers("9.8更大"))
    judging = judge_study(judge, study, concurrency=3)
    # 2 probes × 2 samples × 3 pairs × 2 orders.
    assert len(judge.prompts) == 24 and len(judging.pairs) == 12
    orders = {(v.probe, v.index, v.first, v.second) for v in judging.verdicts}
    assert all((p, i, b, a) in orders for p, i, a, b in orders)  # each pair both ways round
    assert not any(SECRET in p or "<think>" in p for p in judge.prompts)
    assert all("# Rubric\nThe correct answer is that 9.8" in p or "bare list" in p
               for p in judge.prompts)  # the probe's rubric from probes.yaml
    # instruct wins both orders against each other role; base and reasoning (neither says
    # 9.8更大) get "B" in both orders, which disagree, so that pair is a tie.
    assert all(p.agree == ("instruct" in (p.x, p.y)) for p in judging.pairs)
    study.judging = judging
    wins = {r.role: r.judge for r in summarize(study)}
    assert wins["instruct"].value == 1.0 and wins["base"].value == wins["reasoning"].value == 0.25


def test_a_judge_that_always_says_a_scores_every_pair_as_a_tie():
    study = make_study()
    study.judging = judge_study(Scripted(lambda p: "VERDICT: A"), study)
    assert {p.score_for(p.x) for p in study.judging.pairs} == {0.5}
    assert not any(p.agree for p in study.judging.pairs)
    assert all(r.judge.value == 0.5 for r in summarize(study))


def test_unreadable_verdicts_are_recorded_failures_and_left_out():
    study = make_study()
    said = iter(["VERDICT: A", "I cannot decide."] * 12)
    study.judging = judge_study(Scripted(lambda p: next(said)), study, concurrency=1)
    j = study.judging
    assert j.failures == 12 and all(p.score_for(p.x) is None for p in j.pairs)
    assert all(r.judge.n == 0 and r.judge.fmt() == "–" for r in summarize(study))
    failed = [v for v in j.verdicts if v.verdict is None]
    assert {v.failure for v in failed} == {"no VERDICT line"} and failed[0].raw == "I cannot decide."


def test_api_errors_are_recorded_not_raised():
    from clients.errors import APIConnectionError

    class Failing(Scripted):
        def ask(self, prompt):
            raise APIConnectionError(message="judge exploded")

    study = make_study(samples=1)
    judging = judge_study(Failing(None), study)
    assert judging.failures == 12 and all("judge exploded" in v.failure for v in judging.verdicts)


def test_pairs_with_a_failed_answer_are_skipped():
    study = make_study(failing=("decimal-compare", "base", 1))
    judge = Scripted(prefers("9.8更大"))
    judging = judge_study(judge, study)
    assert judging.skipped == 2 and len(judging.pairs) == 10 and len(judge.prompts) == 20


def test_budget_answers_are_judged_against_the_reference_role():
    study = make_study()
    study.budget_role = "reasoning"
    for budget, text in ((0, "9.8更大。"), (64, "不知道")):
        label = budget_label("reasoning", budget)
        study.budget_samples[budget] = [
            score(p, label, i, RoleResult(role="reasoning", model="m", content=text,
                                          usage=Usage.of(3, 5 + budget), latency_s=0.5))
            for p in study.probes for i in range(2)]
    judge = Scripted(prefers("9.8更大"))
    study.judging = judge_study(judge, study)
    assert study.judging.reference == "instruct"
    assert len(judge.prompts) == 24 + 2 * 2 * 2 * 2  # + 2 budgets × 2 probes × 2 samples × 2
    rows = {r.label: r for r in budget_rows(study)}
    assert list(rows) == ["reasoning@0", "reasoning@64", "reasoning"]
    assert rows["reasoning@0"].judge.value == 0.5  # the same answer as instruct's: a tie
    assert rows["reasoning@64"].judge.value == 0.0 and rows["reasoning"].judge.value == 0.0
    assert rows["reasoning@64"].tokens.value == 69.0
    assert rows["reasoning@0"].correct.value == 1.0  # decimal-compare's checks pass


@pytest.mark.parametrize("text,verdict", [
    ("Answer A is better.\nVERDICT: A", "A"),
    ("VERDICT: B", "B"),
    ("both fine\nverdict: tie", "TIE"),
    ("**Verdict:** B", "B"),
    ("VERDICT：A。", "A"),
    ("VERDICT: [[B]]", "B"),
    ("VERDICT: Answer B", "B"),
    ("First I thought VERDICT: A, but no.\nVERDICT: B", "B"),  # the last line wins
    ("<think>VERDICT: A</think>VERDICT: B", "B"),  # a judge's own thinking is not its verdict
    ("VERDICT: a tie", None),  # a lower-case 'a' is not a verdict
    ("A is better", None),
    ("", None),
])
def test_parse_verdict(text, verdict):
    assert parse_verdict(text) == verdict


def test_prompt_shows_content_only_and_cuts_long_answers():
    prompt = judge_prompt("Q", None, "<think>private</think>answer one", "x" * 10_000)
    assert "private" not in prompt and "answer one" in prompt and "[… cut for the judge]" in prompt
    assert "Prefer the answer that responds" in prompt  # the default rubric
    assert judge_prompt("Q", "R", "", "b").count("(an empty answer)") == 1
    assert strip_thinking("thought</think>\n\nanswer") == "answer"


def test_without_matplotlib_the_table_stands_alone(tmp_path, monkeypatch):
    import sys

    study = make_study(samples=1)
    study.budget_role = "reasoning"
    study.budget_samples[0] = [score(p, "reasoning@0", 0, RoleResult(
        role="reasoning", model="m", content="9.8更大。")) for p in study.probes]
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # import matplotlib → ImportError
    paths = write_reports(study, tmp_path)
    assert "plot" not in paths and not (tmp_path / "budgets.png").exists()
    for kind in ("markdown", "html"):
        text = paths[kind].read_text("utf-8")
        assert "no plot: matplotlib is not installed" in text and "reasoning@0" not in text
        assert "| 0 |" in text or "<td>0</td>" in text  # the budget's row


def test_parse_budgets():
    assert parse_budgets("1024, 0,256,0") == [0, 256, 1024]
    for bad in ("", "a", "-1", "1.5"):
        with pytest.raises(ValueError):
            parse_budgets(bad)


def test_report_shows_win_rates_verdicts_and_the_budget_plot(tmp_path):
    study = make_study()
    study.budget_role = "reasoning"
    study.budget_samples[0] = [score(p, "reasoning@0", i, RoleResult(
        role="reasoning", model="m", content="9.8更大。", usage=Usage.of(3, 5), latency_s=0.5))
        for p in study.probes for i in range(2)]
    study.judging = judge_study(Scripted(prefers("9.8更大")), study)
    paths = write_reports(study, tmp_path)
    md, page = paths["markdown"].read_text("utf-8"), paths["html"].read_text("utf-8")
    for text in (md, page):
        assert "The judge" in text and "raw verdicts (" in text and "Thinking budget" in text
        assert "1.00 [1.00–1.00]" in text  # instruct's win rate
        assert "both orders agreed in 8/16 pairs" in text  # instruct's pairs
        assert "Judge win rates on this probe" in text
    assert "data:image/png;base64," in page and "![reasoning against" in md
    assert paths["plot"].read_bytes().startswith(b"\x89PNG")
    assert page.count('class="answer"') == 12  # answers only; verdicts have their own class
    import json

    data = json.loads(paths["json"].read_text("utf-8"))
    assert len(data["judging"]["pairs"]) == 12 and data["budgets"][0]["budget"] == 0
    assert data["summary"][1]["judge"]["value"] == 1.0
