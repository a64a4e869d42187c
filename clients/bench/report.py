"""What `triserve bench` shows and writes: live progress, the summary table, the PNG plots.

    with LiveProgress(console) as live:
        live.level("c=4", expected=None)
        live.update(outcome, measured=True)
    console.print(summary_table(summaries))
    plot(summaries, Path("bench.png"), title="compare · demo graph")
"""

from __future__ import annotations

import time
from pathlib import Path

from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from clients.bench.targets import REJECTED, Outcome


class LiveProgress:
    """One progress line per load level: requests done, refusals, errors, running rate. On a
    terminal a live rich bar; elsewhere (a log, CI) a plain line as requests finish, at most one
    a second (`LINE_EVERY_S`) and always the level's last."""

    LINE_EVERY_S = 1.0

    def __init__(self, console: Console):
        self.console = console
        self.live = console.is_terminal
        self._progress = Progress(
            TextColumn("[bold]{task.description:<12}"), BarColumn(bar_width=24),
            TextColumn("{task.completed:>5.0f}{task.fields[total_text]} req"),
            TextColumn("{task.fields[stats]}"), TimeElapsedColumn(),
            console=console, transient=False, refresh_per_second=4,
        ) if self.live else None
        self._task = None

    def __enter__(self) -> LiveProgress:
        if self._progress is not None:
            self._progress.__enter__()
        return self

    def __exit__(self, *exc) -> None:
        if self._progress is not None:
            self._progress.__exit__(*exc)

    def level(self, name: str, expected: int | None) -> None:
        self._counts = {"ok": 0, "rejected": 0, "errors": 0, "warmup": 0, "tokens": 0}
        self._since = time.perf_counter()
        self._name, self._expected, self._printed = name, expected, 0.0
        if self._progress is None:
            self.console.print(f"{name}: started" + (f", {expected} requests" if expected else ""),
                               highlight=False)
            return
        if self._task is not None:
            self._progress.stop_task(self._task)
        self._task = self._progress.add_task(
            name, total=expected, total_text=f"/{expected}" if expected else "",
            stats="warming up")

    def update(self, outcome: Outcome, measured: bool) -> None:
        c = self._counts
        if not measured:
            c["warmup"] += 1
            if self._progress is not None:
                self._progress.update(self._task, stats=f"warming up ({c['warmup']} sent)")
            return
        if not (c["ok"] or c["rejected"] or c["errors"]):
            self._since = outcome.start  # rates over the measured window, not the warm-up
        if outcome.ok:
            c["ok"] += 1
            c["tokens"] += outcome.output_tokens
        elif outcome.error == REJECTED:
            c["rejected"] += 1
        else:
            c["errors"] += 1
        elapsed = max(time.perf_counter() - self._since, 1e-9)
        stats = (f"{c['ok'] / elapsed:6.2f} req/s {c['tokens'] / elapsed:8.1f} tok/s "
                 f"503: {c['rejected']} errors: {c['errors']}")
        if self._progress is not None:
            self._progress.update(self._task, advance=1, stats=stats)
            return
        done, now = c["ok"] + c["rejected"] + c["errors"], time.perf_counter()
        if now - self._printed >= self.LINE_EVERY_S or done == self._expected:
            self._printed = now
            total = f"/{self._expected}" if self._expected else ""
            self.console.print(f"{self._name}: {done}{total} req · {stats.strip()} · "
                               f"{now - self._since:.0f} s", highlight=False, soft_wrap=True)


def _num(value, scale: float = 1.0, digits: int = 0) -> str:
    return "–" if value is None else f"{value * scale:.{digits}f}"


# (label, how to read it from a level's summary): one row a metric, one column a load level, so
# that a sweep of several levels still fits a terminal.
_ROWS = [
    ("completed", lambda s: str(s["requests"]["completed"])),
    ("refused (503)", lambda s: str(s["requests"]["rejected_503"])),
    ("failed", lambda s: str(s["requests"]["failed"])),
    ("requests/s", lambda s: _num(s["request_throughput"], digits=2)),
    ("output tokens/s", lambda s: _num(s["output_throughput"], digits=1)),
    ("goodput req/s", lambda s: _num(s["goodput"], digits=2) if s["slo"] else "–"),
    *((f"{name} {q} ms", (lambda k, q: lambda s: _num(s[k][q], 1000))(key, q))
      for name, key in (("TTFT", "ttft_s"), ("TPOT", "tpot_s"), ("ITL", "itl_s"),
                        ("E2E", "e2e_s"))
      for q in ("p50", "p90", "p99")),
]


def summary_table(summaries: list[dict]) -> Table:
    open_loop = bool(summaries) and summaries[0]["mode"] == "open"
    table = Table(title="triserve bench", title_justify="left")
    table.add_column("req/s offered" if open_loop else "users", style="bold")
    for s in summaries:
        table.add_column(f"{s['level']:g}", justify="right")
    for label, read in _ROWS:
        table.add_row(label, *(read(s) for s in summaries),
                      end_section=label in ("failed", "goodput req/s"))
    return table


def error_lines(summaries: list[dict]) -> list[str]:
    return [f"level {s['level']:g}: " + ", ".join(f"{k}: {v}" for k, v in s["errors"].items())
            for s in summaries if s["errors"]]


class PlotUnavailable(RuntimeError):
    pass


def plot(summaries: list[dict], path: Path, title: str) -> None:
    """Latency percentiles (TTFT, TPOT, E2E) and throughput against the load level, one PNG."""
    try:
        import matplotlib
    except ImportError:
        raise PlotUnavailable(
            "--plot needs matplotlib: pip install 'triserve[bench]' (or matplotlib)") from None
    matplotlib.use("Agg")  # files only: no display, no GUI toolkit
    import matplotlib.pyplot as plt

    x = [s["level"] for s in summaries]
    xlabel = ("requests/s offered (Poisson)" if summaries[0]["mode"] == "open"
              else "concurrent users (closed loop)")
    fig, axes = plt.subplots(2, 2, figsize=(11, 7.5), constrained_layout=True)
    panels = (("ttft_s", "TTFT (s)", 1), ("tpot_s", "TPOT (ms/token)", 1000),
              ("e2e_s", "end to end (s)", 1))
    for ax, (key, label, scale) in zip(axes.flat, panels):
        for q, style in (("p50", "o-"), ("p90", "s--"), ("p99", "^:")):
            ys = [s[key][q] * scale if s[key][q] is not None else float("nan")
                  for s in summaries]
            ax.plot(x, ys, style, label=q)
        ax.set_ylabel(label)
        ax.set_ylim(bottom=0)
        ax.legend()
    ax = axes.flat[3]
    ax.plot(x, [s["output_throughput"] for s in summaries], "o-", color="tab:green",
            label="output tokens/s")
    ax.set_ylabel("output tokens/s")
    ax.set_ylim(bottom=0)
    rps = ax.twinx()
    rps.plot(x, [s["request_throughput"] for s in summaries], "s--", color="tab:purple",
             label="requests/s")
    if summaries[0]["slo"]:
        rps.plot(x, [s["goodput"] for s in summaries], "^:", color="tab:red", label="goodput")
    rps.set_ylabel("requests/s")
    rps.set_ylim(bottom=0)
    handles = ax.get_legend_handles_labels()[0] + rps.get_legend_handles_labels()[0]
    ax.legend(handles=handles, loc="lower right")
    for ax in axes.flat:
        ax.set_xlabel(xlabel)
        ax.grid(alpha=0.3)
        if len(x) > 2 and min(x) > 0 and max(x) / min(x) >= 8:
            ax.set_xscale("log", base=2)
            ax.set_xticks(x, [f"{v:g}" for v in x])
    counts = ", ".join(str(s["requests"]["total"]) for s in summaries)
    fig.suptitle(f"{title}\nrequests measured per level: {counts}")
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
