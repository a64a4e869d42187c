"""What both study reports show: the per-role summary with intervals, the per-sample measures,
the settings."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from clients.study.runner import Sample, Study
from clients.study.stats import Interval, bootstrap


@dataclass
class RoleSummary:
    """A role's figures: each Interval is a mean over its answers with a bootstrap 95% interval
    over the samples (stats.py); `judge` is its win rate, None without a judge."""

    role: str
    model: str
    checks: str  # "7/9": checks passed of checks run
    checks_rate: Interval  # share of an answer's checks passed, 0…1
    judge: Interval | None
    continuation: Interval
    repetition: Interval
    tokens: Interval
    thinking_share: Interval  # 0…1
    thinking_tokens: Interval
    latency_s: Interval
    tokens_per_s: Interval
    runaway: str  # answers that ran on, "2/15"
    errors: int


def measure(samples: list[Sample], value: Callable[[Sample], float]) -> Interval:
    """The mean of `value` over `samples` with its interval, resampled within each probe."""
    return bootstrap([value(s) for s in samples], [s.probe.id for s in samples])


def summarize(study: Study) -> list[RoleSummary]:
    rows = []
    judging = study.judging
    for role in study.roles:
        ss = study.of(role=role)
        ok = [s for s in ss if s.result.error is None]  # failed answers would pull means to 0
        checks = [c for s in ss for _, c in s.checks]
        wins = judging.unit_scores(role) if judging is not None else None
        rows.append(RoleSummary(
            role=role, model=study.models[role],
            checks=f"{sum(checks)}/{len(checks)}",
            checks_rate=measure([s for s in ss if s.checks], lambda s: s.passed / len(s.checks)),
            judge=None if wins is None else bootstrap([w for _, w in wins], [p for p, _ in wins]),
            continuation=measure(ok, lambda s: s.measures.continuation),
            repetition=measure(ok, lambda s: s.measures.repetition),
            tokens=measure(ok, lambda s: s.measures.tokens),
            thinking_share=measure(ok, lambda s: s.measures.thinking_share),
            thinking_tokens=measure(ok, lambda s: s.measures.thinking_tokens),
            latency_s=measure(ok, lambda s: s.measures.latency_s),
            tokens_per_s=measure(ok, lambda s: s.measures.tokens_per_s),
            runaway=f"{sum(s.measures.runaway_markers > 0 for s in ss)}/{len(ss)}",
            errors=len(ss) - len(ok),
        ))
    return rows


LEGEND = ("Means per answer, each with its 95% interval [low–high]: percentile bootstrap over the "
          "samples, 2000 resamples within each probe, seeded (clients/study/stats.py). checks: "
          "share of the declared checks passed (a failed answer fails its checks); judge: win "
          "rate in the judge's pairwise comparisons, both orders (win 1, tie or orders "
          "disagreeing 0.5, loss 0); continuation: 0 = answers the prompt … 1 = continues it "
          "(joins it mid-sentence, carries its list on, or re-states its sentences; "
          "clients/study/continuation.py); repetition: share of the answer's 4-grams of units "
          "(a CJK character, a word, a number) that repeat an earlier one; tokens: completion "
          "tokens as the server counts them; thinking: their thinking share; runaway: answers "
          "that run on into user/assistant lines; errors: answers that failed (left out of "
          "every mean but checks).")
SUMMARY_HEADER = ["role", "model", "checks %", "judge win rate", "continuation", "repetition",
                  "tokens", "thinking %", "latency s", "tok/s", "runaway", "errors"]
SAMPLE_HEADER = ["role", "sample", "tokens", "thinking", "latency s", "tok/s", "repetition",
                 "continuation", "runaway", "sentences", "finish", "checks"]


def summary_cells(r: RoleSummary) -> list[str]:
    return [r.role, r.model, f"{r.checks_rate.fmt('.0f', 100)} ({r.checks})",
            r.judge.fmt() if r.judge is not None else "–", r.continuation.fmt(),
            r.repetition.fmt(), r.tokens.fmt(".0f"), r.thinking_share.fmt(".0f", 100),
            r.latency_s.fmt(), r.tokens_per_s.fmt(".1f"), r.runaway, str(r.errors)]


def sample_cells(s: Sample) -> list[str]:
    m = s.measures
    return [s.role, str(s.index + 1), str(m.tokens), str(m.thinking_tokens), f"{m.latency_s:.2f}",
            f"{m.tokens_per_s:g}", f"{m.repetition:.2f}", continuation_cell(s),
            str(m.runaway_markers), str(m.sentences), s.result.finish_reason]


def continuation_cell(s: Sample) -> str:
    """`1 (joins)`: the score and the rule that gave it."""
    m = s.measures
    return f"{m.continuation:g}" + (f" ({m.continuation_cue})" if m.continuation_cue else "")


def check_marks(s: Sample) -> list[tuple[bool, str]]:
    return [(ok, c.label) for c, ok in s.checks]


def settings_line(study: Study) -> str:
    params = study.params.model_dump(exclude_none=True) or "each role's defaults"
    when = study.started.strftime("%Y-%m-%d %H:%M UTC")
    line = (f"{when} · server {study.server} · {study.samples_per_probe} sample(s) per probe "
            f"and role · parameters: {params} · {study.duration_s:g} s")
    return f"PARTIAL REPORT: {study.partial} · {line}" if study.partial else line


def answer_text(s: Sample | None) -> str:
    if s is None:
        return ""
    if s.result.error is not None:
        return f"[error] {s.result.error.message}"
    return s.result.content


def percent(rate: float | None) -> str:
    return "–" if rate is None else f"{rate:.0%}"
