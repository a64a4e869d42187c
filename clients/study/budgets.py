"""Thinking budgets: the reasoning role's answers at each `max_thinking_tokens`, and their figures.

    study = run_study(client, probes, samples=10)
    run_budgets(client, study, [0, 256, 1024])       # study.budget_samples[256]: the answers
    rows = budget_rows(study)                        # the table against the budget

Each budget runs every probe `samples` times on the budget role alone, with the study's
parameters plus `max_thinking_tokens` (0 = no thinking: the engine closes the thinking at once).
The seeds are the study's (sample i: seed + i), so budgets differ only in the budget. The study
grew out of the finding that reasoning is "very slow, and not worth it on simple tasks": the table
and plot put correctness on the checkable probes, the judge's score, tokens and latency against
the budget, each with its bootstrap 95% interval over the samples (stats.py).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from clients.client import Client
from clients.study.runner import Sample, Study, StudyInterrupted, ask_all, budget_label
from clients.study.stats import Interval, bootstrap
from clients.study.summary import measure


def parse_budgets(text: str) -> list[int]:
    """`"0,256,1024"` → [0, 256, 1024] (sorted, each once); ValueError names a bad entry."""
    budgets = set()
    for item in (t.strip() for t in text.split(",")):
        if not item:
            continue
        if not item.isdigit():
            raise ValueError(f"a thinking budget is a whole number of tokens ≥ 0, not {item!r}")
        budgets.add(int(item))
    if not budgets:
        raise ValueError("no thinking budget given")
    return sorted(budgets)


def run_budgets(client: Client, study: Study, budgets: list[int], *, role: str = "reasoning",
                concurrency: int = 2, on_answer: Callable[[int], None] | None = None) -> None:
    """Runs `role` at each budget over the study's probes and samples; fills
    `study.budget_samples` (budget → answers labelled `role@budget`) and `study.budget_role`."""
    study.budget_role = role
    models = {role: study.models.get(role, role)}
    for budget in budgets:
        params = study.params.model_copy(update={"max_thinking_tokens": budget})
        answers = study.budget_samples[budget] = []
        try:
            ask_all(client, study.probes, samples=study.samples_per_probe, roles=[role],
                    models=models, params=params, concurrency=concurrency, on_answer=on_answer,
                    label=budget_label(role, budget), into=answers)
        except KeyboardInterrupt:
            study.partial = (f"interrupted (Ctrl-C) at thinking budget {budget}: "
                             f"{len(answers)} of its answers measured; no judge")
            raise StudyInterrupted(study) from None


@dataclass
class BudgetRow:
    """One budget's figures, each a mean over its answers with a bootstrap interval."""

    budget: int | None  # None: the role at its own default (the main study's answers)
    label: str
    correct: Interval  # share of the checks passed, on probes that declare checks
    judge: Interval  # score against the reference role's answers, 0…1 (0.5 = as good)
    tokens: Interval
    thinking_tokens: Interval
    latency_s: Interval
    errors: int


def _row(study: Study, budget: int | None, label: str, samples: list[Sample]) -> BudgetRow:
    ok = [s for s in samples if s.result.error is None]
    checked = [s for s in samples if s.checks]
    judging = study.judging
    if judging is not None and budget is not None:
        scores = judging.unit_scores(label, judging.budget_pairs.get(budget, []))
    elif judging is not None:
        scores = judging.unit_scores(label, against=judging.reference)
    else:
        scores = []
    return BudgetRow(
        budget=budget, label=label,
        correct=measure(checked, lambda s: s.passed / len(s.checks)),
        judge=bootstrap([v for _, v in scores], [p for p, _ in scores]),
        tokens=measure(ok, lambda s: s.measures.tokens),
        thinking_tokens=measure(ok, lambda s: s.measures.thinking_tokens),
        latency_s=measure(ok, lambda s: s.measures.latency_s),
        errors=len(samples) - len(ok),
    )


def budget_rows(study: Study) -> list[BudgetRow]:
    """A row per budget, in increasing order, then the role at its default (no budget sent)."""
    role = study.budget_role
    if role is None or not study.budget_samples:
        return []
    rows = [_row(study, b, budget_label(role, b), study.budget_samples[b])
            for b in sorted(study.budget_samples)]
    if role in study.roles:
        rows.append(_row(study, None, role, study.of(role=role)))
    return rows


BUDGET_NOTE = ("The budget role alone, on every probe and sample, at each `max_thinking_tokens` "
               "(0 = no thinking); `default` is its answers in the study above, with no budget "
               "sent. checks passed: on the probes that declare checks; judge score: its answers "
               "against the reference role's answers to the same samples, both orders (0.5 = as "
               "good); means with 95% bootstrap intervals.")
BUDGET_HEADER = ["budget", "checks passed %", "judge score vs {ref}", "tokens", "thinking tokens",
                 "latency s", "errors"]


def budget_header(study: Study) -> list[str]:
    ref = study.judging.reference if study.judging is not None else None
    return [h.format(ref=ref or "–") for h in BUDGET_HEADER]


def budget_cells(r: BudgetRow) -> list[str]:
    return [str(r.budget) if r.budget is not None else "default", r.correct.fmt(".0f", 100),
            r.judge.fmt(".2f"), r.tokens.fmt(".0f"), r.thinking_tokens.fmt(".0f"),
            r.latency_s.fmt(".2f"), str(r.errors)]
