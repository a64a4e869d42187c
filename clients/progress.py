"""Progress of a long command (`triserve study`, `triserve bench`) wherever it runs.

On a terminal: rich's live bars, with counts, the time spent and an estimate of the time left.
Elsewhere (output to a log or CI, where rich draws nothing until the end): one plain line per
finished step, with the same count and estimate, so that a 20-minute run is never silent.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)


@dataclass
class _Task:
    name: str
    total: int
    done: int = 0
    start: float = field(default_factory=time.perf_counter)
    bar: object = None  # rich's task id, on a terminal


class StepProgress:
    """Counted steps under names (`add("answers", 150)`, then `advance("answers")` per step).

    Used as a context manager; `live` is whether rich draws bars (the console is a terminal)."""

    def __init__(self, console: Console):
        self.console = console
        self.live = console.is_terminal
        self.tasks: dict[str, _Task] = {}
        self.bars = Progress(
            TextColumn("[bold]{task.description:>8}"), BarColumn(), MofNCompleteColumn(),
            TimeElapsedColumn(), TimeRemainingColumn(), console=console) if self.live else None

    def __enter__(self) -> StepProgress:
        if self.bars is not None:
            self.bars.__enter__()
        return self

    def __exit__(self, *exc) -> None:
        if self.bars is not None:
            self.bars.__exit__(*exc)

    def add(self, name: str, total: int) -> None:
        """A new count of `total` steps."""
        task = self.tasks[name] = _Task(name, total)
        if self.bars is not None:
            task.bar = self.bars.add_task(name, total=total)

    def advance(self, name: str, n: int = 1) -> None:
        """`n` more steps of `name` finished."""
        task = self.tasks[name]
        task.done += n
        if self.bars is not None:
            self.bars.advance(task.bar, n)
            return
        self.console.print(self.line(task), highlight=False, soft_wrap=True)

    @staticmethod
    def line(task: _Task) -> str:
        """`answers 12/150 · 34 s · about 6 min left`: the estimate is the mean time a step
        took so far, times the steps left."""
        spent = time.perf_counter() - task.start
        left = spent / task.done * (task.total - task.done) if task.done else None
        eta = "" if left is None or task.done >= task.total else f" · about {_duration(left)} left"
        return f"{task.name} {task.done}/{task.total} · {_duration(spent)}{eta}"


def _duration(seconds: float) -> str:
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 5400:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"
