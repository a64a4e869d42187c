"""What both study reports show: the per-role summary, the per-sample measures, the settings."""

from __future__ import annotations

from dataclasses import dataclass
from statistics import mean

from clients.study.runner import Sample, Study


@dataclass
class RoleSummary:
    role: str
    model: str
    checks: str  # "7/9"
    tokens: float
    thinking_tokens: float
    latency_s: float
    tokens_per_s: float
    repetition: float
    runaway: str  # answers that ran on, "2/15"
    errors: int


def _mean(samples: list[Sample], key: str, digits: int = 1) -> float:
    if not samples:
        return 0.0
    return round(mean(getattr(s.measures, key) for s in samples), digits)


def summarize(study: Study) -> list[RoleSummary]:
    rows = []
    for role in study.roles:
        ss = study.of(role=role)
        ok = [s for s in ss if s.result.error is None]  # failed answers would pull means to 0
        checks = [c for s in ss for _, c in s.checks]
        rows.append(RoleSummary(
            role=role, model=study.models[role],
            checks=f"{sum(checks)}/{len(checks)}",
            tokens=_mean(ok, "tokens"), thinking_tokens=_mean(ok, "thinking_tokens"),
            latency_s=_mean(ok, "latency_s", 2), tokens_per_s=_mean(ok, "tokens_per_s"),
            repetition=_mean(ok, "repetition", 2),
            runaway=f"{sum(s.measures.runaway_markers > 0 for s in ss)}/{len(ss)}",
            errors=len(ss) - len(ok),
        ))
    return rows


LEGEND = ("Means per answer. checks: declared checks passed; tokens: completion tokens as the "
          "server counts them; thinking: their thinking share; repetition: share of repeated "
          "4-grams in the answer; runaway: answers that run on into user/assistant lines; "
          "errors: answers that failed (left out of the means).")
SUMMARY_HEADER = ["role", "model", "checks", "tokens", "thinking", "latency s", "tok/s",
                  "repetition", "runaway", "errors"]
SAMPLE_HEADER = ["role", "sample", "tokens", "thinking", "latency s", "tok/s", "repetition",
                 "runaway", "sentences", "finish", "checks"]


def summary_cells(r: RoleSummary) -> list[str]:
    return [r.role, r.model, r.checks, f"{r.tokens:g}", f"{r.thinking_tokens:g}",
            f"{r.latency_s:.2f}", f"{r.tokens_per_s:g}", f"{r.repetition:.2f}", r.runaway,
            str(r.errors)]


def sample_cells(s: Sample) -> list[str]:
    m = s.measures
    return [s.role, str(s.index + 1), str(m.tokens), str(m.thinking_tokens), f"{m.latency_s:.2f}",
            f"{m.tokens_per_s:g}", f"{m.repetition:.2f}", str(m.runaway_markers), str(m.sentences),
            s.result.finish_reason]


def check_marks(s: Sample) -> list[tuple[bool, str]]:
    return [(ok, c.label) for c, ok in s.checks]


def settings_line(study: Study) -> str:
    params = study.params.model_dump(exclude_none=True) or "each role's defaults"
    when = study.started.strftime("%Y-%m-%d %H:%M UTC")
    return (f"{when} · server {study.server} · {study.samples_per_probe} sample(s) per probe and "
            f"role · parameters: {params} · {study.duration_s:g} s")


def answer_text(s: Sample | None) -> str:
    if s is None:
        return ""
    if s.result.error is not None:
        return f"[error] {s.result.error.message}"
    return s.result.content


def percent(rate: float | None) -> str:
    return "–" if rate is None else f"{rate:.0%}"
