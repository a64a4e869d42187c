"""Runs the probes against every role, N samples each, and measures every answer.

    from clients import Client
    from clients.study import load_probes, run_study
    study = run_study(Client(), load_probes(), samples=3)
    study.pass_rate("reasoning", "decimal-compare")      # 0.0 … 1.0
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from datetime import datetime, timezone

from clients.client import Client
from clients.errors import BadRequestError
from clients.study import measures
from clients.study.checks import Check
from clients.study.continuation import continuation
from clients.study.judging import Judging
from clients.study.probes import Probe
from serve.api.protocol import ErrorInfo, GenerationParams, RoleResult


@dataclass
class Measures:
    """One answer's measures; `tokens` as the server counts them, times in seconds."""

    tokens: int
    thinking_tokens: int
    thinking_share: float  # thinking_tokens / tokens, 0…1
    latency_s: float
    tokens_per_s: float
    repetition: float  # share of repeated unit 4-grams, 0…1 (measures.repetition)
    continuation: float  # 0 answers … 1 continues the prompt (continuation.py)
    continuation_cue: str  # the rule that scored it, "" when none did
    runaway_markers: int
    sentences: int

    @classmethod
    def of(cls, r: RoleResult, prompt: str = "") -> Measures:
        """`prompt`: what the answer should respond to (a probe's instruction, input left out)."""
        tokens = r.usage.completion_tokens
        details = r.usage.completion_tokens_details
        # The server's own count of thinking tokens when it reports one, else the text's share.
        thinking = details.reasoning_tokens if details is not None and details.reasoning_tokens \
            else measures.thinking_tokens(tokens, r.thinking, r.response)
        cont = continuation(prompt, r.content, after_thinking=bool(r.thinking))
        return cls(
            tokens=tokens,
            thinking_tokens=thinking,
            thinking_share=round(thinking / tokens, 3) if tokens else 0.0,
            latency_s=r.latency_s,
            tokens_per_s=round(tokens / r.latency_s, 1) if r.latency_s > 0 else 0.0,
            repetition=measures.repetition(r.content),
            continuation=cont.score,
            continuation_cue=cont.cue,
            runaway_markers=measures.runaway_markers(r.content),
            sentences=measures.sentences(r.content),
        )


@dataclass
class Sample:
    probe: Probe
    role: str
    index: int
    result: RoleResult
    measures: Measures
    checks: list[tuple[Check, bool]]

    @property
    def passed(self) -> int:
        return sum(ok for _, ok in self.checks)


def score(probe: Probe, role: str, index: int, result: RoleResult) -> Sample:
    """Measures and checks of one answer (its `content`: the thinking is measured apart)."""
    failed = result.error is not None
    checks = [(c, not failed and c.passes(result.content, probe.context)) for c in probe.checks]
    return Sample(probe, role, index, result, Measures.of(result, probe.instruction), checks)


def refused(role: str, model: str, exc: BadRequestError) -> RoleResult:
    info = exc.body.get("error") if isinstance(exc.body, dict) else None
    error = ErrorInfo.model_validate(info) if isinstance(info, dict) else \
        ErrorInfo(message=exc.message, type="invalid_request_error")
    return RoleResult(role=role, model=model, finish_reason="error", error=error)


@dataclass
class Study:
    """A study's answers. `samples`: every probe × role × sample; `budget_samples`: the budget
    role's answers per thinking budget (role labelled `reasoning@256`); `judging`: the judge's
    verdicts (clients/study/judge.py), None when no judge was asked."""

    server: str
    models: dict[str, str]
    probes: list[Probe]
    samples_per_probe: int
    params: GenerationParams
    started: datetime
    duration_s: float = 0.0
    samples: list[Sample] = field(default_factory=list)
    budget_role: str | None = None
    budget_samples: dict[int, list[Sample]] = field(default_factory=dict)
    judging: Judging | None = None
    partial: str | None = None  # why the study stopped early (Ctrl-C), with what it kept

    @property
    def roles(self) -> list[str]:
        return list(self.models)

    def of(self, probe_id: str | None = None, role: str | None = None) -> list[Sample]:
        out = [s for s in self.samples
               if (probe_id is None or s.probe.id == probe_id) and (role is None or s.role == role)]
        return sorted(out, key=lambda s: (s.index, self.roles.index(s.role)))

    def pass_rate(self, role: str, probe_id: str | None = None) -> float | None:
        checks = [ok for s in self.of(probe_id, role) for _, ok in s.checks]
        return sum(checks) / len(checks) if checks else None


class StudyInterrupted(Exception):
    """Ctrl-C during a study: `study` holds what was measured until then, `partial` says so."""

    def __init__(self, study: Study):
        super().__init__(study.partial)
        self.study = study


def budget_label(role: str, budget: int) -> str:
    """How a budget run's answers are labelled: `reasoning@256`."""
    return f"{role}@{budget}"


def ask_all(client: Client, probes: list[Probe], *, samples: int, roles: list[str],
            models: dict[str, str], params: GenerationParams, concurrency: int,
            on_answer: Callable[[int], None] | None = None, label: str | None = None,
            into: list[Sample] | None = None) -> list[Sample]:
    """Every probe to `roles`, `samples` times, `concurrency` comparisons at once; the answers
    are appended to `into` (a new list by default) as they come, so that what was measured
    is kept when Ctrl-C stops the run (comparisons not yet sent are dropped, not awaited).

    With `params.seed` set, sample i uses seed + i: samples differ yet the study repeats. With
    `label`, the answers are recorded under that name instead of the role's (one role only).
    """
    def ask(probe: Probe, i: int) -> list[Sample]:
        p = params if params.seed is None else params.model_copy(update={"seed": params.seed + i})
        try:
            response = client.compare(probe.text, system=probe.system, roles=roles, params=p)
        except BadRequestError as exc:
            # Refused for this probe only (e.g. its prompt is over a role's input limit): an
            # error answer per role, and the study goes on. Anything else ends the study.
            results = [refused(role, models[role], exc) for role in roles]
        else:
            results = response.results
        return [score(probe, label or r.role, i, r) for r in results]

    out = [] if into is None else into
    pool = ThreadPoolExecutor(max_workers=max(1, concurrency))
    jobs = [pool.submit(ask, probe, i) for probe in probes for i in range(samples)]
    try:
        for job in as_completed(jobs):
            answers = job.result()
            out.extend(answers)
            if on_answer is not None:
                on_answer(len(answers))
    finally:
        # Done, or a failed request or Ctrl-C ended the study: send nothing more, and leave
        # the comparisons in flight to end on their own.
        pool.shutdown(wait=False, cancel_futures=True)
    return out


def run_study(client: Client, probes: list[Probe], *, samples: int = 3,
              roles: Iterable[str] | None = None, params: GenerationParams | None = None,
              concurrency: int = 2, on_answer: Callable[[int], None] | None = None) -> Study:
    """Every probe to every role, `samples` times; `on_answer(n)` after each n answers.

    With `params.seed` set, sample i uses seed + i: samples differ yet the study repeats.
    """
    params = params or GenerationParams()
    served = {card.role: card.model for card in client.models().data}
    chosen = list(roles) if roles is not None else list(served)
    study = Study(server=client.base_url, models={r: served.get(r, r) for r in chosen},
                  probes=probes, samples_per_probe=samples, params=params,
                  started=datetime.now(timezone.utc))
    start = time.perf_counter()
    try:
        ask_all(client, probes, samples=samples, roles=chosen, models=study.models,
                params=params, concurrency=concurrency, on_answer=on_answer, into=study.samples)
    except KeyboardInterrupt:
        total = len(probes) * samples * len(chosen)
        study.partial = (f"interrupted (Ctrl-C) during the answers: {len(study.samples)} of "
                         f"{total} measured; no thinking budgets, no judge")
        raise StudyInterrupted(study) from None
    finally:
        study.duration_s = round(time.perf_counter() - start, 2)
    return study
