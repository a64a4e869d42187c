"""The thinking-budget plot: four panels (checks passed, judge score, tokens, latency) against the
budget, each point with its bootstrap 95% interval as an error bar. A PNG, for the HTML report
(as a data URI) and beside the Markdown report.

matplotlib is optional (the `bench` extra); without it `budget_plot` returns None and the reports
show the table alone, with a note.
"""

from __future__ import annotations

import io

from clients.study.budgets import BudgetRow
from clients.study.stats import Interval

NO_PLOT = "(no plot: matplotlib is not installed; `pip install triserve[bench]` adds it)"


def _errorbar(ax, xs: list[int], points: list[Interval], scale: float = 1.0) -> None:
    shown = [(x, p) for x, p in zip(xs, points, strict=True) if p.value is not None]
    if not shown:
        ax.text(0.5, 0.5, "no data", ha="center", va="center", transform=ax.transAxes)
        return
    x = [x for x, _ in shown]
    y = [p.value * scale for _, p in shown]
    low = [(p.value - p.low) * scale for _, p in shown]
    high = [(p.high - p.value) * scale for _, p in shown]
    ax.errorbar(x, y, yerr=[low, high], marker="o", capsize=4, linewidth=1.5)


def budget_plot(rows: list[BudgetRow], *, role: str, reference: str | None) -> bytes | None:
    """A PNG of the budget rows (those with a budget; the default row is the table's), or None
    without matplotlib. The x axis is categorical (budgets are far apart and start at 0)."""
    try:
        import matplotlib

        matplotlib.use("Agg")  # no display; must precede pyplot
        from matplotlib import pyplot as plt
    except ImportError:
        return None
    default = next((r for r in rows if r.budget is None), None)
    rows = [r for r in rows if r.budget is not None]
    if not rows:
        return None
    xs = list(range(len(rows)))
    panels = [("checks passed (%)", "correct", 100.0, (0, 100)),
              (f"judge score vs {reference or '–'} (0.5 = as good)", "judge", 1.0, (0, 1)),
              ("completion tokens", "tokens", 1.0, None),
              ("latency (s)", "latency_s", 1.0, None)]
    fig, axes = plt.subplots(2, 2, figsize=(9, 6), dpi=100)
    try:
        for ax, (title, key, scale, limits) in zip(axes.flat, panels, strict=True):
            _errorbar(ax, xs, [getattr(r, key) for r in rows], scale)
            mark = getattr(default, key) if default is not None else None
            if mark is not None and mark.value is not None:  # the role with no budget sent
                ax.axhline(mark.value * scale, color="tab:orange", linestyle="--", linewidth=1,
                           label="no budget (default)")
                ax.legend(fontsize=8, loc="best")
            if limits is not None:
                ax.set_ylim(limits[0] - 0.05 * limits[1], limits[1] * 1.05)
            ax.set_title(title, fontsize=10)
            ax.set_xticks(xs, [str(r.budget) for r in rows])
            ax.set_xlabel("max_thinking_tokens", fontsize=9)
            ax.grid(alpha=0.3)
        axes.flat[1].axhline(0.5, color="grey", linestyle=":", linewidth=1)  # as good
        fig.suptitle(f"{role} against its thinking budget (means, 95% bootstrap intervals)",
                     fontsize=11)
        fig.tight_layout()
        out = io.BytesIO()
        fig.savefig(out, format="png", metadata={"Software": None})  # same bytes each run
        return out.getvalue()
    finally:
        plt.close(fig)
