"""The study's report as one self-contained HTML page (inline CSS, no script, no external file).

Per probe, the roles stand in columns; each answer shows its measures, its checks as badges,
its thinking folded away, and the answer itself. Every piece of model text is escaped.
"""

from __future__ import annotations

import base64
from html import escape

from clients._text import visible
from clients.study.budgets import BUDGET_NOTE, budget_cells, budget_header, budget_rows
from clients.study.plot import NO_PLOT
from clients.study.runner import Sample, Study
from clients.study.summary import (
    LEGEND,
    SUMMARY_HEADER,
    answer_text,
    continuation_cell,
    percent,
    settings_line,
    summarize,
    summary_cells,
)
from clients.study import verdicts as judged  # the judge's sections

CSS = """
body{font:15px/1.5 system-ui,sans-serif;margin:2rem auto;max-width:1400px;padding:0 1rem;color:#222}
h1{font-size:1.5rem}h2{font-size:1.2rem;margin-top:2.5rem;border-bottom:1px solid #ddd}
table{border-collapse:collapse;margin:.5rem 0}td,th{border:1px solid #ddd;padding:.25rem .5rem;
text-align:left}th{background:#f5f5f5}.meta{color:#666;font-size:.9rem}
.prompt{background:#f7f7f2;border-left:4px solid #bbb;padding:.5rem 1rem;white-space:pre-wrap}
.roles{display:grid;gap:1rem}.role h3{margin:.5rem 0;font-size:1rem}
.answer{border:1px solid #ddd;border-radius:6px;padding:.5rem;margin-bottom:.75rem}
.answer pre{white-space:pre-wrap;word-break:break-word;margin:.25rem 0;font:13px/1.45 monospace}
.thinking pre{color:#777}.badge{display:inline-block;border-radius:4px;padding:0 .4rem;
margin:.1rem;font-size:.8rem}.pass{background:#dff3e0;color:#14621b}
.fail{background:#fbe0e0;color:#8a1515}.error{color:#8a1515}
.verdicts pre{white-space:pre-wrap;margin:0;font:12px/1.4 monospace;max-height:12rem;overflow:auto}
img{max-width:100%}
"""


def _e(text: str | None) -> str:
    return escape(visible(text))


def _table(header: list[str], rows: list[list[str]]) -> str:
    head = "".join(f"<th>{_e(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{_e(c)}</td>" for c in row) + "</tr>" for row in rows)
    return f"<table><tr>{head}</tr>{body}</table>"


def _answer(s: Sample) -> str:
    m = s.measures
    facts = (f"sample {s.index + 1} · {m.tokens} tokens"
             + (f" ({m.thinking_tokens} thinking)" if m.thinking_tokens else "")
             + f" · {m.latency_s:.2f} s · {m.tokens_per_s:g} tok/s · repetition {m.repetition:.2f}"
             + f" · continuation {continuation_cell(s)}"
             + f" · runaway {m.runaway_markers} · {m.sentences} sentence(s)"
             + f" · {s.result.finish_reason}")
    badges = "".join(f'<span class="badge {"pass" if ok else "fail"}">{"✓" if ok else "✗"} '
                     f"{_e(c.label)}</span>" for c, ok in s.checks)
    thinking = ""
    if s.result.thinking:
        thinking = (f'<details class="thinking"><summary>thinking ({m.thinking_tokens} tokens)'
                    f"</summary><pre>{_e(s.result.thinking)}</pre></details>")
    cls = ' class="error"' if s.result.error is not None else ""
    return (f'<div class="answer"><div class="meta">{_e(facts)}</div>{badges}{thinking}'
            f"<pre{cls}>{_e(answer_text(s))}</pre></div>")


def _judge_section(study: Study) -> str:
    header, pairwise = judged.pairwise_rows(study)
    verdicts = "".join(
        f"<tr><td>{_e(probe)}</td><td>{_e(n)}</td><td>{_e(a)}</td><td>{_e(b)}</td>"
        f'<td class="{"pass" if v.verdict else "fail"}">{_e(verdict)}</td>'
        f"<td><pre>{_e(raw)}</pre></td></tr>"
        for v, (probe, n, a, b, verdict, raw) in judged.verdict_rows(study))
    head = "".join(f"<th>{h}</th>" for h in judged.VERDICT_HEADER)
    return "".join([
        '<h2 id="judge">The judge</h2>',
        f'<p class="meta">{_e(judged.health_line(study))}</p>',
        f"<p>{_e(judged.JUDGE_NOTE)}</p>",
        _table(["role", "win rate", "samples judged"], judged.win_rows(study)),
        "<p>Score of the row's role against the column's (0.5 = as good):</p>",
        _table(header, pairwise),
        f'<details class="verdicts"><summary>The judge\'s raw verdicts '
        f"({study.judging.failures} failed of {len(study.judging.verdicts)})</summary>"
        f"<table><tr>{head}</tr>{verdicts}</table></details>",
    ])


def _budget_section(study: Study, png: bytes | None) -> str:
    rows = budget_rows(study)
    if not rows:
        return ""
    title = f"{study.budget_role} against its thinking budget"
    plot = (f'<img alt="{_e(title)}" src="data:image/png;base64,'
            f'{base64.b64encode(png).decode()}">' if png else f'<p class="meta">{_e(NO_PLOT)}</p>')
    return "".join([f'<h2 id="budgets">Thinking budget: {_e(study.budget_role)}</h2>',
                    f"<p>{_e(BUDGET_NOTE)}</p>",
                    _table(budget_header(study), [budget_cells(r) for r in rows]), plot])


def html(study: Study, png: bytes | None = None) -> str:
    """The page; `png`: the budget plot (budgets.budget_plot), embedded as a data URI."""
    roles = study.roles
    parts = [
        "<!doctype html><html lang=\"zh\"><head><meta charset=\"utf-8\">",
        "<meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">",
        f"<title>triserve study</title><style>{CSS}</style></head><body>",
        "<h1>triserve study: base, instruct and reasoning side by side</h1>",
        f'<p class="meta">{_e(settings_line(study))}</p>',
        "<h2>Summary per role</h2>",
        _table(SUMMARY_HEADER, [summary_cells(r) for r in summarize(study)]),
        f'<p class="meta">{_e(LEGEND)}</p>',
        _judge_section(study) if study.judging is not None else "",
        _budget_section(study, png),
    ]
    grid = f'style="grid-template-columns:repeat({len(roles)},minmax(0,1fr))"'
    for n, probe in enumerate(study.probes, 1):
        parts.append(f'<h2 id="{_e(probe.id)}">{n}. {_e(probe.title)} '
                     f"<code>{_e(probe.id)}</code></h2>")
        parts.append(f'<div class="prompt">{_e(probe.text)}</div>')
        if probe.what:
            parts.append(f"<p>{_e(probe.what)}</p>")
        if probe.checks:
            rates = ", ".join(f"{r} {percent(study.pass_rate(r, probe.id))}" for r in roles)
            labels = "; ".join(c.label for c in probe.checks)
            parts.append(f'<p class="meta">Checks: {_e(labels)} — passed: {_e(rates)}</p>')
        if study.judging is not None:
            parts.append(f'<p class="meta">{_e(judged.probe_line(study, probe.id))}</p>')
        columns = []
        for role in roles:
            answers = "".join(_answer(s) for s in study.of(probe.id, role))
            columns.append(f'<div class="role"><h3>{_e(role)} <span class="meta">'
                           f"{_e(study.models[role])}</span></h3>{answers}</div>")
        parts.append(f'<div class="roles" {grid}>{"".join(columns)}</div>')
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"
