"""`triserve bench` against roles that refuse or fail: 503 back-pressure is counted apart from
errors, and errors are counted by kind, not retried."""

from __future__ import annotations

import json

import pytest
from ray import serve
from serving import deploy
from typer.testing import CliRunner

from apps import scripted_role
from clients.cli import app

SLOW = {**scripted_role(tokens=[" a", " b", " c", " d"], token_s=0.2),
        "batching": {"max_batch_size": 1}}


@pytest.fixture(scope="module")
def refusing(serve_instance):
    options = {"Base": {"max_ongoing_requests": 1, "max_queued_requests": 1}}
    args = {"roles": {"base": SLOW, "instruct": scripted_role(fail_with="engine exploded")}}
    url = deploy("bench_refusing", args, serve_instance, options)
    yield url
    serve.delete("bench_refusing")


def bench(url: str, tmp_path, *args: str) -> dict:
    out = tmp_path / "bench.json"
    result = CliRunner().invoke(app, ["--url", url, "bench", "--warmup", "0", *args,
                                      "--json-out", str(out)])
    assert result.exit_code == 0, result.output
    return json.loads(out.read_text())["levels"][0]


def test_back_pressure_is_counted_apart_from_errors(refusing, tmp_path):
    level = bench(refusing, tmp_path, "-e", "chat", "--role", "base", "-c", "6", "-n", "18")
    r = level["requests"]
    assert r["total"] == 18 and r["rejected_503"] > 0 and r["completed"] > 0
    assert r["failed"] == 0 and level["errors"] == {}
    assert r["completed"] + r["rejected_503"] == 18
    # Only completed requests enter the latencies and the throughput.
    assert level["e2e_s"]["n"] == r["completed"]
    assert level["output_tokens"] == 4 * r["completed"]
    statuses = {d["status"] for d in level["requests_detail"]}
    assert statuses == {200, 503}


def test_failures_are_counted_by_kind_and_never_retried(refusing, tmp_path):
    level = bench(refusing, tmp_path, "-e", "chat", "--role", "instruct", "-c", "2", "-n", "4")
    assert level["requests"] == {"total": 4, "completed": 0, "failed": 4, "rejected_503": 0}
    assert sum(level["errors"].values()) == 4 and len(level["errors"]) == 1, level["errors"]
    assert level["request_throughput"] == 0 and level["ttft_s"]["n"] == 0

    compare = bench(refusing, tmp_path, "-e", "compare", "--roles", "base,instruct", "-n", "2")
    assert compare["requests"]["failed"] == 2
    (kind,) = compare["errors"]  # the instruct role failed inside each comparison
    assert kind.startswith("role:") and compare["errors"][kind] == 2
