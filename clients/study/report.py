"""Writes the study's reports: Markdown, a self-contained HTML page, and the raw results as JSON.

    paths = write_reports(study, Path("study-report"))
    print(paths["html"])                        # study-report/report.html
"""

from __future__ import annotations

import json
from pathlib import Path

from clients.study.html import html
from clients.study.markdown import markdown
from clients.study.runner import Study


def results_json(study: Study) -> str:
    """Every answer and its measures, for tools."""
    return json.dumps({
        "server": study.server, "models": study.models, "started": study.started.isoformat(),
        "duration_s": study.duration_s, "params": study.params.model_dump(exclude_none=True),
        "samples": [{
            "probe": s.probe.id, "role": s.role, "sample": s.index,
            "result": s.result.model_dump(), "measures": vars(s.measures),
            "checks": [{"check": c.label, "passed": ok} for c, ok in s.checks],
        } for s in study.samples],
    }, ensure_ascii=False, indent=1)


def write_reports(study: Study, out_dir: Path) -> dict[str, Path]:
    """Writes report.md, report.html (self-contained) and results.json; returns their paths."""
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = {"markdown": out_dir / "report.md", "html": out_dir / "report.html",
             "json": out_dir / "results.json"}
    paths["markdown"].write_text(markdown(study), "utf-8")
    paths["html"].write_text(html(study), "utf-8")
    paths["json"].write_text(results_json(study), "utf-8")
    return paths
