"""Writes the study's reports: Markdown, a self-contained HTML page, and the raw results as JSON.

    paths = write_reports(study, Path("study-report"))
    print(paths["html"])                        # study-report/report.html
"""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path

from clients.study.budgets import budget_rows
from clients.study.html import html
from clients.study.judging import Judging, Pair
from clients.study.markdown import markdown
from clients.study.plot import budget_plot
from clients.study.runner import Sample, Study
from clients.study.summary import summarize


def _sample(s: Sample) -> dict:
    return {"probe": s.probe.id, "role": s.role, "sample": s.index,
            "result": s.result.model_dump(), "measures": vars(s.measures),
            "checks": [{"check": c.label, "passed": ok} for c, ok in s.checks]}


def _judging(j: Judging) -> dict:
    def pair(p: Pair) -> dict:
        return {"probe": p.probe, "sample": p.index, "x": p.x, "y": p.y,
                "score_x": p.score_for(p.x), "verdicts": [asdict(v) for v in p.orders]}

    return {"judge": j.judge, "reference": j.reference, "skipped": j.skipped,
            "failures": j.failures, "duration_s": j.duration_s,
            "pairs": [pair(p) for p in j.pairs],
            "budget_pairs": {str(b): [pair(p) for p in ps] for b, ps in j.budget_pairs.items()}}


def results_json(study: Study) -> str:
    """Every answer and its measures, the per-role summary with its intervals, and (when asked)
    the thinking budgets' answers and the judge's verdicts, for tools."""
    data = {
        "server": study.server, "models": study.models, "started": study.started.isoformat(),
        "duration_s": study.duration_s, "partial": study.partial,
        "params": study.params.model_dump(exclude_none=True),
        "summary": [asdict(r) for r in summarize(study)],
        "samples": [_sample(s) for s in study.samples],
    }
    if study.budget_samples:
        data["budget_role"] = study.budget_role
        data["budgets"] = [asdict(r) for r in budget_rows(study)]
        data["budget_samples"] = {str(b): [_sample(s) for s in ss]
                                  for b, ss in study.budget_samples.items()}
    if study.judging is not None:
        data["judging"] = _judging(study.judging)
    return json.dumps(data, ensure_ascii=False, indent=1)


def write_reports(study: Study, out_dir: Path) -> dict[str, Path]:
    """Writes report.md, report.html (self-contained) and results.json, and budgets.png beside
    report.md when there were thinking budgets and matplotlib is installed; returns the paths."""
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = {"markdown": out_dir / "report.md", "html": out_dir / "report.html",
             "json": out_dir / "results.json"}
    png = None
    if study.budget_samples:
        png = budget_plot(budget_rows(study), role=study.budget_role or "",
                          reference=study.judging.reference if study.judging else None)
    if png is not None:
        paths["plot"] = out_dir / "budgets.png"
        paths["plot"].write_bytes(png)
    paths["markdown"].write_text(markdown(study, "budgets.png" if png else None), "utf-8")
    paths["html"].write_text(html(study, png), "utf-8")
    paths["json"].write_text(results_json(study), "utf-8")
    return paths
