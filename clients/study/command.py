"""`triserve study`: the probes, a progress bar while they run, the summary, the report files."""

from __future__ import annotations

from pathlib import Path

from rich import box
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table

from clients.client import Client
from clients.study.probes import ProbeFileError, load_probes
from clients.study.report import write_reports
from clients.study.runner import run_study
from clients.study.summary import SUMMARY_HEADER, summarize, summary_cells
from serve.protocol import GenerationParams


def run(client: Client, *, probes_file: Path | None, only: list[str] | None, samples: int,
        out: Path, roles: list[str] | None, params: GenerationParams, concurrency: int) -> None:
    probes = load_probes(probes_file)
    if only:
        unknown = sorted(set(only) - {p.id for p in probes})
        if unknown:
            known = ", ".join(p.id for p in probes)
            raise ProbeFileError(f"no probe {unknown[0]!r}; probes: {known}")
        probes = [p for p in probes if p.id in only]
    n_roles = len(roles) if roles else len(client.models().data)
    console = Console(stderr=True)  # progress on stderr: stdout keeps only the summary
    columns = (TextColumn("[bold]study"), BarColumn(), MofNCompleteColumn(),
               TextColumn("answers"), TimeElapsedColumn(), TimeRemainingColumn())
    with Progress(*columns, console=console) as progress:
        task = progress.add_task("study", total=len(probes) * samples * n_roles)
        study = run_study(client, probes, samples=samples, roles=roles, params=params,
                          concurrency=concurrency,
                          on_answer=lambda n: progress.advance(task, n))
    paths = write_reports(study, out)
    # The terminal table leaves out the model column to fit 80 columns; the reports have it.
    table = Table(*SUMMARY_HEADER[:1], *SUMMARY_HEADER[2:], box=box.SIMPLE_HEAD,
                  title="study summary", padding=0, show_edge=False)
    for row in summarize(study):
        cells = summary_cells(row)
        table.add_row(*cells[:1], *cells[2:])
    stdout = Console()
    stdout.print(table)
    for kind, path in paths.items():
        stdout.print(f"{kind:>8}: {path}")
