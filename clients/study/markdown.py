"""The study's report as Markdown: summary, then per probe its measures and answers side by side.

Answers appear twice: a preview in a table with one column per role, then each in full (with
its thinking) in a folded <details> block, so the page stays readable on GitHub.
"""

from __future__ import annotations

import re

from clients._text import visible
from clients.study.budgets import BUDGET_NOTE, budget_cells, budget_header, budget_rows
from clients.study.plot import NO_PLOT
from clients.study.runner import Sample, Study
from clients.study.summary import (
    LEGEND,
    SAMPLE_HEADER,
    SUMMARY_HEADER,
    answer_text,
    check_marks,
    percent,
    sample_cells,
    settings_line,
    summarize,
    summary_cells,
)
from clients.study import verdicts as judged  # the judge's sections

PREVIEW_CHARS = 280


def _cell(text: str) -> str:
    t = visible(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return t.replace("|", "\\|").replace("\n", "<br>") or " "


def _row(cells: list[str]) -> str:
    return "| " + " | ".join(cells) + " |"


def _table(header: list[str], rows: list[list[str]]) -> list[str]:
    return [_row(header), _row(["---"] * len(header)), *(_row(r) for r in rows)]


def _preview(text: str) -> str:
    return text if len(text) <= PREVIEW_CHARS else text[:PREVIEW_CHARS].rstrip() + " …"


def markdown(study: Study, plot: str | None = None) -> str:
    """The report; `plot`: the budget plot's file name beside it (None: no plot was made)."""
    out = ["# triserve study: base, instruct and reasoning side by side", "",
           settings_line(study), "", "## Summary per role", ""]
    out += _table(SUMMARY_HEADER, [[_cell(c) for c in summary_cells(r)] for r in summarize(study)])
    out += ["", LEGEND, ""]
    if study.judging is not None:
        out += _judge_section(study)
    rows = budget_rows(study)
    if rows:
        out += [f"## Thinking budget: {study.budget_role}", "", BUDGET_NOTE, ""]
        out += _table(budget_header(study), [[_cell(c) for c in budget_cells(r)] for r in rows])
        out += ["", f"![{study.budget_role} against its thinking budget]({plot})" if plot
                else NO_PLOT, ""]
    for n, probe in enumerate(study.probes, 1):
        out += [f"## {n}. {probe.title} (`{probe.id}`)", ""]
        out += ["> " + line for line in visible(probe.text).splitlines() or [""]]
        out += [""]
        if probe.what:
            out += [probe.what, ""]
        if probe.checks:
            rates = ", ".join(f"{role} {percent(study.pass_rate(role, probe.id))}"
                              for role in study.roles)
            out += ["Checks: " + "; ".join(f"`{c.label}`" for c in probe.checks),
                    f"(passed: {rates})", ""]
        samples = study.of(probe.id)
        rows = [[_cell(c) for c in sample_cells(s)]
                + [" ".join(("✅ " if ok else "❌ ") + _cell(label) for ok, label in check_marks(s))
                   or "–"] for s in samples]
        out += _table(SAMPLE_HEADER, rows) + [""]
        if study.judging is not None:
            out += [judged.probe_line(study, probe.id), ""]
        out += ["Answers side by side:", ""]
        answers = []
        for i in range(study.samples_per_probe):
            by_role = {s.role: s for s in samples if s.index == i}
            answers.append([str(i + 1)] + [_cell(_preview(answer_text(by_role.get(r))))
                                           for r in study.roles])
        out += _table(["#", *study.roles], answers) + [""]
        for s in samples:
            out += _full_answer(s)
    return "\n".join(out) + "\n"


def _judge_section(study: Study) -> list[str]:
    out = ["## The judge", "", judged.health_line(study), "", judged.JUDGE_NOTE, ""]
    out += _table(["role", "win rate", "samples judged"],
                  [[_cell(c) for c in row] for row in judged.win_rows(study)])
    header, rows = judged.pairwise_rows(study)
    out += ["", "Score of the row's role against the column's (0.5 = as good):", ""]
    out += _table(header, [[_cell(c) for c in row] for row in rows])
    verdicts = judged.verdict_rows(study)
    out += ["", f"<details><summary>The judge's raw verdicts ({study.judging.failures} failed "
                f"of {len(verdicts)})</summary>", ""]
    out += _table(judged.VERDICT_HEADER, [[_cell(c) for c in cells] for _, cells in verdicts])
    return out + ["", "</details>", ""]


def _full_answer(s: Sample) -> list[str]:
    out = [f"<details><summary>{s.role} · sample {s.index + 1} · full answer</summary>", ""]
    if s.result.thinking:
        out += ["Thinking:", ""] + _fenced(s.result.thinking)
    return out + _fenced(answer_text(s)) + ["</details>", ""]


def _fenced(text: str) -> list[str]:
    # A fence longer than any backtick run inside, so an answer holding ``` cannot end it.
    text = visible(text)
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    fence = "`" * max(3, longest + 1)
    return [fence + "text", text, fence, ""]
