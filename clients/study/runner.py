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
from clients.study.probes import Probe
from serve.protocol import ErrorInfo, GenerationParams, RoleResult


@dataclass
class Measures:
    tokens: int
    thinking_tokens: int
    latency_s: float
    tokens_per_s: float
    repetition: float
    runaway_markers: int
    sentences: int

    @classmethod
    def of(cls, r: RoleResult) -> Measures:
        tokens = r.usage.completion_tokens
        return cls(
            tokens=tokens,
            thinking_tokens=measures.thinking_tokens(tokens, r.thinking, r.response),
            latency_s=r.latency_s,
            tokens_per_s=round(tokens / r.latency_s, 1) if r.latency_s > 0 else 0.0,
            repetition=measures.repetition(r.content),
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
    return Sample(probe, role, index, result, Measures.of(result), checks)


def refused(role: str, model: str, exc: BadRequestError) -> RoleResult:
    info = exc.body.get("error") if isinstance(exc.body, dict) else None
    error = ErrorInfo.model_validate(info) if isinstance(info, dict) else \
        ErrorInfo(message=exc.message, type="invalid_request_error")
    return RoleResult(role=role, model=model, finish_reason="error", error=error)


@dataclass
class Study:
    server: str
    models: dict[str, str]
    probes: list[Probe]
    samples_per_probe: int
    params: GenerationParams
    started: datetime
    duration_s: float = 0.0
    samples: list[Sample] = field(default_factory=list)

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

    def ask(probe: Probe, i: int) -> list[Sample]:
        p = params if params.seed is None else params.model_copy(update={"seed": params.seed + i})
        try:
            response = client.compare(probe.text, system=probe.system, roles=chosen, params=p)
        except BadRequestError as exc:
            # Refused for this probe only (e.g. its prompt is over a role's input limit): an
            # error answer per role, and the study goes on. Anything else ends the study.
            return [score(probe, role, i, refused(role, study.models[role], exc))
                    for role in chosen]
        return [score(probe, r.role, i, r) for r in response.results]

    with ThreadPoolExecutor(max_workers=max(1, concurrency)) as pool:
        jobs = [pool.submit(ask, probe, i) for probe in probes for i in range(samples)]
        try:
            for job in as_completed(jobs):
                answers = job.result()
                study.samples.extend(answers)
                if on_answer is not None:
                    on_answer(len(answers))
        except BaseException:
            for job in jobs:
                job.cancel()  # a failed request ends the study; do not send the rest
            raise
    study.duration_s = round(time.perf_counter() - start, 2)
    return study
