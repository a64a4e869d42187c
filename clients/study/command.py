"""`triserve study`: the probes, the thinking budgets and the judge, a progress bar while they run,
the summary, the report files."""

from __future__ import annotations

from dataclasses import dataclass
from math import comb
from pathlib import Path

from rich import box
from rich.console import Console
from rich.table import Table

from clients.client import Client
from clients.errors import APIError
from clients.progress import StepProgress
from clients.study.budgets import run_budgets
from clients.study.judge import Judge, judge_study
from clients.study.probes import ProbeFileError, load_probes
from clients.study.report import write_reports
from clients.study.runner import StudyInterrupted, run_study
from clients.study.summary import summarize
from serve.api.protocol import GenerationParams


class StudyStopped(Exception):
    """The study was stopped by Ctrl-C after its partial report was written; the message says
    what it kept. The command exits with 130, as a shell reports an interrupted command."""


class StudySetupError(ValueError):
    """A study option that cannot work (an unknown role, an unreachable judge); `option` names
    the command-line option to blame."""

    def __init__(self, option: str, message: str):
        super().__init__(message)
        self.option = option


@dataclass
class JudgeChoice:
    """Who judges: a `role` of the study's server, or `model` at `url` (OpenAI-compatible)."""

    role: str | None = None
    url: str | None = None
    model: str | None = None
    api_key: str | None = None
    max_tokens: int = 512
    timeout_s: float = 600.0
    fmt: str = "text"  # how the judge answers: judge.ENDINGS

    def build(self, client: Client) -> Judge:
        if self.role is not None:
            return Judge(client, self.role, max_tokens=self.max_tokens, role=self.role,
                         fmt=self.fmt, name=f"role {self.role} of {client.base_url}")
        base = self.url.rstrip("/").removesuffix("/v1")  # OpenAI-style URLs end in /v1
        # api_key "" rather than None: the SDK would fall back to TRISERVE_API_KEY, and the
        # triserve key must not travel to another server.
        judge_client = Client(base, api_key=self.api_key or "", timeout=self.timeout_s,
                              max_retries=client.max_retries)
        return Judge(judge_client, self.model, max_tokens=self.max_tokens, fmt=self.fmt,
                     name=f"{self.model} at {base}")


def _check_setup(client: Client, judge: Judge | None, choice: JudgeChoice | None,
                 roles: list[str], budgets: list[int], budget_role: str) -> None:
    served = {card.role for card in client.models().data}
    if budgets and budget_role not in served:
        raise StudySetupError("--budget-role", f"the server has no role {budget_role!r}; "
                              f"it serves {', '.join(sorted(served))}")
    if choice is not None and choice.role is not None and choice.role not in served:
        raise StudySetupError("--judge", f"the server has no role {choice.role!r}; "
                              f"it serves {', '.join(sorted(served))}")
    if judge is not None:
        try:
            judge.check()
        except APIError as exc:
            option = "--judge" if choice.role is not None else "--judge-url"
            raise StudySetupError(option, f"the judge ({judge.name}) did not answer a test "
                                          f"request: {exc}") from None
    if len(roles) < 2 and judge is not None and not budgets:
        raise StudySetupError("--roles", "the judge compares roles: ask two or more")


def run(client: Client, *, probes_file: Path | None, only: list[str] | None, samples: int,
        out: Path, roles: list[str] | None, params: GenerationParams, concurrency: int,
        judge: JudgeChoice | None = None, budgets: list[int] | None = None,
        budget_role: str = "reasoning") -> None:
    """Runs the study (then the budgets, then the judge), prints the summary, writes reports."""
    probes = load_probes(probes_file)
    if only:
        unknown = sorted(set(only) - {p.id for p in probes})
        if unknown:
            known = ", ".join(p.id for p in probes)
            raise ProbeFileError(f"no probe {unknown[0]!r}; probes: {known}")
        probes = [p for p in probes if p.id in only]
    budgets = budgets or []
    chosen = roles or [card.role for card in client.models().data]
    the_judge = judge.build(client) if judge is not None else None
    if the_judge is not None or budgets:
        _check_setup(client, the_judge, judge, chosen, budgets, budget_role)
    # Progress on stderr (bars on a terminal, a line per answer or verdict in a log): stdout
    # keeps only the summary.
    try:
        with StepProgress(Console(stderr=True)) as progress:
            progress.add("answers", len(probes) * samples * (len(chosen) + len(budgets)))
            study = run_study(client, probes, samples=samples, roles=roles, params=params,
                              concurrency=concurrency,
                              on_answer=lambda n: progress.advance("answers", n))
            if budgets:
                run_budgets(client, study, budgets, role=budget_role, concurrency=concurrency,
                            on_answer=lambda n: progress.advance("answers", n))
            if the_judge is not None:
                pairs = comb(len(chosen), 2) + len(budgets)
                progress.add("verdicts", len(probes) * samples * pairs * 2)
                try:
                    study.judging = judge_study(
                        the_judge, study, concurrency=concurrency,
                        on_verdict=lambda n: progress.advance("verdicts", n))
                except KeyboardInterrupt:
                    study.partial = "interrupted (Ctrl-C) during the judge: no verdicts kept"
                    raise StudyInterrupted(study) from None
    except StudyInterrupted as stop:  # Ctrl-C: what was measured is reported, marked partial
        study = stop.study
    paths = write_reports(study, out)
    stdout = Console()
    stdout.print(summary_table(study))
    for kind, path in paths.items():
        stdout.print(f"{kind:>8}: {path}")
    if study.partial:
        stdout.print(f"[bold]partial report:[/] {study.partial}")
        raise StudyStopped(study.partial)


def summary_table(study) -> Table:
    """The terminal's summary: a value over its interval in each cell, to fit 80 columns (the
    reports have the model, tok/s and runaway). checks and think are percentages."""
    has_judge = study.judging is not None
    header = ["role", "checks", *(["judge"] if has_judge else []), "contin.", "repet.",
              "tokens", "think", "secs", "err"]
    table = Table(*header, box=box.SIMPLE_HEAD, title="study summary", padding=0,
                  show_edge=False)

    def cell(interval, spec=".2f", scale=1.0) -> str:
        text = interval.fmt(spec, scale)  # "0.42 [0.30–0.55]" → the interval on a dim line
        if " [" not in text:
            return text
        value, rest = text.split(" [", 1)
        return f"{value}\n[dim]{rest[:-1]}[/dim]"

    for r in summarize(study):
        table.add_row(r.role, cell(r.checks_rate, ".0f", 100),
                      *([cell(r.judge)] if has_judge else []), cell(r.continuation),
                      cell(r.repetition), cell(r.tokens, ".0f"),
                      cell(r.thinking_share, ".0f", 100), cell(r.latency_s, ".1f"), str(r.errors))
    return table
