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

from clients.bench_targets import REJECTED, Outcome


class LiveProgress:
    """One progress line per load level: requests done, refusals, errors, running rate."""

    def __init__(self, console: Console):
        self._progress = Progress(
            TextColumn("[bold]{task.description:<12}"), BarColumn(bar_width=24),
            TextColumn("{task.completed:>5.0f}{task.fields[total_text]} req"),
            TextColumn("{task.fields[stats]}"), TimeElapsedColumn(),
            console=console, transient=False, refresh_per_second=4,
        )
        self._task = None

    def __enter__(self) -> LiveProgress:
        self._progress.__enter__()
        return self

    def __exit__(self, *exc) -> None:
        self._progress.__exit__(*exc)

    def level(self, name: str, expected: int | None) -> None:
        if self._task is not None:
            self._progress.stop_task(self._task)
        self._counts = {"ok": 0, "rejected": 0, "errors": 0, "warmup": 0, "tokens": 0}
        self._since = time.perf_counter()
        self._task = self._progress.add_task(
            name, total=expected, total_text=f"/{expected}" if expected else "",
            stats="warming up")

    def update(self, outcome: Outcome, measured: bool) -> None:
        c = self._counts
        if not measured:
            c["warmup"] += 1
            self._progress.update(self._task, stats=f"warming up ({c['warmup']} sent)")
            return
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
        self._progress.update(self._task, advance=1, stats=stats)


def _ms(dist: dict, key: str) -> str:
    value = dist.get(key)
    return "–" if value is None else f"{value * 1000:.0f}"


def summary_table(summaries: list[dict]) -> Table:
    open_loop = summaries and summaries[0]["mode"] == "open"
    table = Table(title="triserve bench", title_justify="left")
    table.add_column("req/s in" if open_loop else "users", justify="right")
    for name in ("ok", "503", "errors", "req/s", "tok/s", "goodput",
                 "TTFT p50/p90/p99 ms", "TPOT p50/p99 ms", "ITL p99 ms", "E2E p50/p90/p99 ms"):
        table.add_column(name, justify="right")
    for s in summaries:
        r = s["requests"]
        ttft, tpot, e2e = s["ttft_s"], s["tpot_s"], s["e2e_s"]
        table.add_row(
            f"{s['level']:g}", str(r["completed"]), str(r["rejected_503"]), str(r["failed"]),
            f"{s['request_throughput']:.2f}", f"{s['output_throughput']:.1f}",
            f"{s['goodput']:.2f}" if s["slo"] else "–",
            "/".join(_ms(ttft, k) for k in ("p50", "p90", "p99")),
            "/".join(_ms(tpot, k) for k in ("p50", "p99")),
            _ms(s["itl_s"], "p99"),
            "/".join(_ms(e2e, k) for k in ("p50", "p90", "p99")),
        )
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
    panels = (("ttft_s", "TTFT (ms)"), ("tpot_s", "TPOT (ms/token)"), ("e2e_s", "end to end (ms)"))
    for ax, (key, label) in zip(axes.flat, panels):
        for q, style in (("p50", "o-"), ("p90", "s--"), ("p99", "^:")):
            ys = [s[key][q] * 1000 if s[key][q] is not None else float("nan") for s in summaries]
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
    fig.suptitle(title)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
