"""What both reports show of the judge: win rates, the pairwise table, the judge's own health
(failures, position bias) and every raw verdict. Cells are plain text; the writers escape them."""

from __future__ import annotations

from clients.study.judging import Judging, Verdict
from clients.study.runner import Study
from clients.study.stats import bootstrap

JUDGE_NOTE = ("Each pair of answers to a probe's sample was judged twice, each answer once in "
              "position A; a pair scores the mean of its two orders (win 1, tie 0.5, loss 0), so "
              "orders that disagree count as a tie and the judge's position bias cancels. A pair "
              "with an unreadable or failed order is left out. The judge saw each answer's "
              "content, never its thinking, and the probe's rubric (clients/study/probes.yaml). "
              "Win rate: a role's mean pair score per sample; intervals as in the summary.")

PAIRWISE_HEADER_FIRST = "role \\ against"
VERDICT_HEADER = ["probe", "sample", "A", "B", "verdict", "judge's answer"]


def health_line(study: Study) -> str:
    """Calls, failures, skipped pairs, order agreement and the share of 'A' verdicts."""
    j = study.judging
    assert j is not None
    verdicts = j.verdicts
    read = [v for v in verdicts if v.verdict is not None]
    pairs = j.pairs + [p for ps in j.budget_pairs.values() for p in ps]
    judged = [p for p in pairs if all(v.verdict is not None for v in p.orders)]
    agree = sum(p.agree for p in judged)
    said_a = sum(v.verdict == "A" for v in read)
    parts = [f"judge: {j.judge}", f"{len(verdicts)} calls in {j.duration_s:g} s",
             f"{j.failures} failed or unreadable"]
    if j.skipped:
        parts.append(f"{j.skipped} pairs not judged (an answer failed)")
    if judged:
        parts.append(f"both orders agreed in {agree}/{len(judged)} pairs")
    if read:
        parts.append(f"'A' in {said_a}/{len(read)} readable verdicts (about half when the "
                     "judge has no position bias)")
    return " · ".join(parts)


def win_rows(study: Study) -> list[list[str]]:
    """role, win rate [interval], samples judged."""
    j = study.judging
    assert j is not None
    rows = []
    for role in study.roles:
        units = j.unit_scores(role)
        interval = bootstrap([s for _, s in units], [p for p, _ in units])
        rows.append([role, interval.fmt(), str(interval.n)])
    return rows


def pairwise_rows(study: Study) -> tuple[list[str], list[list[str]]]:
    """The header and rows of the row-role's score against each column-role (0.5 = as good)."""
    j = study.judging
    assert j is not None
    rows = []
    for role in study.roles:
        cells = [role]
        for other in study.roles:
            if other == role:
                cells.append("–")
                continue
            units = j.unit_scores(role, against=other)
            cells.append(bootstrap([s for _, s in units], [p for p, _ in units]).fmt())
        rows.append(cells)
    return [PAIRWISE_HEADER_FIRST, *study.roles], rows


def probe_line(study: Study, probe_id: str) -> str:
    """`base 0.20 [0.00–0.50], …`: each role's win rate on one probe."""
    j = study.judging
    assert j is not None
    parts = []
    for role in study.roles:
        scores = [s for p, s in j.unit_scores(role) if p == probe_id]
        parts.append(f"{role} {bootstrap(scores).fmt()}")
    return "Judge win rates on this probe: " + ", ".join(parts)


def verdict_rows(study: Study) -> list[tuple[Verdict, list[str]]]:
    """Every judge call: the verdict and its cells (the judge's raw answer last)."""
    j = study.judging
    assert j is not None
    return [(v, [v.probe, str(v.index + 1), v.first, v.second,
                 v.verdict or f"failed ({v.failure})", v.raw or v.failure or ""])
            for v in j.verdicts]
