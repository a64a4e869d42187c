"""The study's reports from known answers (no server): content, summary figures, escaping."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from clients.study import Study, load_probes, score, write_reports
from clients.study.summary import summarize
from serve.api.protocol import ErrorInfo, GenerationParams, RoleResult, Usage

HOSTILE = "<script>alert(1)</script> | ``` \x1b[31m"


def known_study() -> Study:
    probes = [p for p in load_probes() if p.id in ("summary-prefix", "vague-request")]
    study = Study(server="http://test", models={"base": "B", "reasoning": "R"}, probes=probes,
                  samples_per_probe=1, params=GenerationParams(max_new_tokens=8),
                  started=datetime(2025, 1, 2, tzinfo=timezone.utc), duration_s=1.5)
    answers = {
        ("summary-prefix", "base"): RoleResult(role="base", model="B", content=HOSTILE,
                                               response=HOSTILE, usage=Usage(completion_tokens=10),
                                               latency_s=0.5),
        ("summary-prefix", "reasoning"): RoleResult(
            role="reasoning", model="R", content="结论：门槛正在降低。", thinking="想一想" * 10,
            response="<think>" + "想一想" * 10 + "</think>结论：门槛正在降低。",
            usage=Usage(completion_tokens=40), latency_s=2.0),
        ("vague-request", "base"): RoleResult(role="base", model="B", finish_reason="error",
                                              error=ErrorInfo(message="boom", type="server_error")),
        ("vague-request", "reasoning"): RoleResult(role="reasoning", model="R",
                                                   content="哪个？", response="哪个？",
                                                   usage=Usage(completion_tokens=6), latency_s=1.0),
    }
    for (pid, role), result in answers.items():
        study.samples.append(score(next(p for p in probes if p.id == pid), role, 0, result))
    return study


def test_summary_figures():
    base, reasoning = summarize(known_study())
    # The errored answer fails its checks and is left out of the means.
    assert (base.checks, base.errors, base.tokens.value) == ("2/4", 1, 10)
    assert base.checks_rate.value == pytest.approx((2 / 3 + 0) / 2)  # per answer, then the mean
    assert (reasoning.checks, reasoning.tokens.value, reasoning.tokens_per_s.value) == \
        ("4/4", 23, 13)
    assert reasoning.thinking_tokens.value > 10 and 0 < reasoning.thinking_share.value < 1
    assert base.judge is None and reasoning.tokens.n == 2
    # One answer per probe: nothing to resample within a probe, so each interval is its point.
    assert reasoning.tokens.low == reasoning.tokens.high == 23


def test_reports_are_written_and_escaped(tmp_path):
    paths = write_reports(known_study(), tmp_path / "out")
    md, page = paths["markdown"].read_text("utf-8"), paths["html"].read_text("utf-8")
    assert "<script>" not in page and "<script>" not in md.split("<details>")[0]  # fences keep it
    for text in (md, page):
        assert "\x1b" not in text
        assert "summary-prefix" in text and "vague-request" in text and "boom" in text
        assert "结论：门槛正在降低。" in text
    assert "&lt;script&gt;" in md and "\\|" in md and "````text" in md  # a longer fence
    assert "&lt;script&gt;" in page and "<details class=\"thinking\">" in page
    assert "http" not in page.replace("http://test", "")  # self-contained: nothing fetched
    assert paths["json"].read_text("utf-8").count('"probe"') == 4
