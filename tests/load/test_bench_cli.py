"""`triserve bench` run in-process (typer's CliRunner) for a few seconds against real graphs."""

from __future__ import annotations

import json

import pytest
from serving import free_port
from typer.testing import CliRunner

from clients import Client
from clients.bench.prompts import BenchPrompt, load_prompts, synthetic_prompts
from clients.cli import app

METRICS = ("ttft_s", "tpot_s", "itl_s", "e2e_s")


def bench_run(url: str, *args: str, tmp_path) -> tuple[dict, str]:
    """`triserve bench ARGS --json-out …`: its JSON document and what it printed."""
    out = tmp_path / "bench.json"
    result = CliRunner().invoke(app, ["--url", url, "bench", *args, "--json-out", str(out)])
    assert result.exit_code == 0, result.output
    assert "Traceback" not in result.output
    return json.loads(out.read_text()), result.output


def bench(url: str, *args: str, tmp_path) -> dict:
    return bench_run(url, *args, tmp_path=tmp_path)[0]


def check_sane(level: dict) -> None:
    r = level["requests"]
    assert r["completed"] > 0 and r["failed"] == 0 and r["rejected_503"] == 0
    assert r["total"] == len(level["requests_detail"]) and level["errors"] == {}
    for key in METRICS:
        d = level[key]
        assert d["n"] > 0, key
        assert 0 <= d["p50"] <= d["p90"] <= d["p99"] <= d["max"], (key, d)
    assert level["ttft_s"]["max"] <= level["e2e_s"]["max"]
    assert level["duration_s"] > 0
    assert level["request_throughput"] == pytest.approx(r["completed"] / level["duration_s"])
    assert level["output_throughput"] == pytest.approx(
        level["output_tokens"] / level["duration_s"])
    assert 0 <= level["goodput"] <= level["request_throughput"]
    assert level["tokens_counted_not_reported"] == 0  # triserve always reports usage
    detail = level["requests_detail"]
    assert level["output_tokens"] == sum(d["output_tokens"] for d in detail)
    assert level["input_tokens"] == sum(d["prompt_tokens"] for d in detail) > 0
    for d in detail:
        assert 0 <= d["ttft_s"] <= d["e2e_s"] and d["start_s"] >= 0


def server_usage(url: str, endpoint: str, role_or_roles, max_new: int,
                 prompts: list[BenchPrompt]) -> dict:
    """What the server reports for each prompt, asked once without streaming (greedy)."""
    usage = {}
    with Client(url, max_retries=0) as client:
        for p in prompts:
            if endpoint == "compare":
                res = client.compare(p.text, system=p.system, roles=role_or_roles,
                                     params={"max_new_tokens": max_new})
                usage[p.id] = {r.role: r.usage.completion_tokens for r in res.results}
            else:
                msgs = ([{"role": "system", "content": p.system}] if p.system else []) + [
                    {"role": "user", "content": p.text}]
                res = client.chat(role_or_roles, msgs, params={"max_new_tokens": max_new})
                usage[p.id] = {role_or_roles: res.usage.completion_tokens}
    return usage


def test_bench_compare_sweep_reports_every_metric(tiny_app, tmp_path):
    png = tmp_path / "bench.png"
    # Short prompts: the tiny models accept 256 tokens, which some probes pass in bytes.
    doc = bench(tiny_app, "--sweep", "1,3", "--duration", "2", "--warmup", "0.5", "-m", "8",
                "--synthetic", "6", "--input-words", "12", "--input-words-sd", "4",
                "--slo-ttft", "10", "--slo-tpot", "5", "--slo-e2e", "20", "--plot", str(png),
                tmp_path=tmp_path)
    assert doc["config"]["mode"] == "closed" and doc["config"]["levels"] == [1, 3]
    assert [lv["concurrency"] for lv in doc["levels"]] == [1, 3]
    usage = server_usage(tiny_app, "compare", None, 8, synthetic_prompts(6, 12, 4, seed=0))
    for level in doc["levels"]:
        check_sane(level)
        assert level["slo"] == {"ttft_s": 10, "tpot_s": 5, "e2e_s": 20}
        assert level["warmup_requests"] >= level["concurrency"]
        for d in level["requests_detail"]:  # each role's tokens: the server's own count
            assert d["tokens"] == usage[d["prompt"]], d
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 20_000


def test_bench_chat_open_loop_request_count(tiny_app, tmp_path):
    prompts = tmp_path / "prompts.jsonl"
    prompts.write_text('{"prompt": "Is 9.11 bigger than 9.8?", "system": "Be brief."}\n'
                       '{"prompt": "Name a fruit.", "id": "fruit"}\n')
    doc, printed = bench_run(tiny_app, "-e", "chat", "--role", "reasoning", "--rate", "8", "-n",
                             "10", "--warmup", "0", "-m", "6", "--seed", "3", "--prompts",
                             str(prompts), tmp_path=tmp_path)
    # Not a terminal: progress as plain lines while it runs, the level's last one always.
    lines = printed.splitlines()
    assert "req/s 8: started, 10 requests" in lines
    assert any(line.startswith("req/s 8: 10/10 req · ") for line in lines), printed
    (level,) = doc["levels"]
    assert level["mode"] == "open" and level["request_rate"] == 8
    assert level["requests"]["total"] == 10 and level["warmup_requests"] == 0
    check_sane(level)
    assert level["slo"] is None and level["goodput"] == level["request_throughput"]
    usage = server_usage(tiny_app, "chat", "reasoning", 6, load_prompts(prompts))
    for d in level["requests_detail"]:
        assert d["tokens"] == usage[d["prompt"]], d


def test_bench_completions_with_a_prompt_file(tiny_app, tmp_path):
    prompts = tmp_path / "prompts.txt"
    prompts.write_text("Once upon a time\nThe river\n")
    doc = bench(tiny_app, "-e", "completions", "-c", "2", "-n", "6", "--warmup", "0",
                "--prompts", str(prompts), "-m", "5", tmp_path=tmp_path)
    (level,) = doc["levels"]
    check_sane(level)
    assert doc["config"]["role"] == "base" and doc["config"]["prompts"]["count"] == 2
    assert {d["prompt"] for d in level["requests_detail"]} <= {"line-1", "line-2"}
    assert all(d["output_tokens"] <= 5 for d in level["requests_detail"])


def test_bench_bad_options_are_clear(tiny_app):
    runner = CliRunner()
    for args, says in ((["--sweep", "1,x"], "--sweep"), (["--sweep", "1.5"], "whole numbers"),
                       (["-e", "embeddings"], "--endpoint"), (["--rate", "0"], "--rate"),
                       (["-e", "chat", "--role", "nobody"], "no role nobody"),
                       (["--roles", "base,nobody"], "no role nobody")):
        result = runner.invoke(app, ["--url", tiny_app, "bench", *args])
        assert result.exit_code == 2 and says in result.output, result.output


def test_bench_against_no_server_is_one_clear_error():
    url = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    result = CliRunner().invoke(app, ["--url", url, "bench", "-d", "1"])
    assert result.exit_code == 1 and "cannot reach the triserve server" in result.output


def test_ctrl_c_keeps_what_was_measured(tiny_app, tmp_path):
    """`triserve bench` in a process of its own, sent SIGINT (Ctrl-C) in the middle of a 60 s
    sweep: it reports the requests that finished, marks the results partial, exits 130."""
    import signal
    import subprocess
    import sys
    import time

    out = tmp_path / "bench.json"
    # A process started without a terminal may inherit SIGINT ignored: give it the default back.
    child = subprocess.Popen(
        [sys.executable, "-m", "clients.cli", "--url", tiny_app, "bench", "-e", "chat", "--role",
         "instruct", "--sweep", "1,2", "-d", "60", "--warmup", "0", "-m", "4",
         "--json-out", str(out)],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    lines = []
    for line in child.stdout:  # a progress line once requests finish (not a terminal)
        lines.append(line)
        if " req · " in line:
            break
    time.sleep(1.0)
    child.send_signal(signal.SIGINT)
    printed = "".join(lines) + child.stdout.read()
    assert child.wait(timeout=60) == 130, printed
    doc = json.loads(out.read_text())
    assert doc["partial"].startswith("interrupted (Ctrl-C) at level 1:"), doc["partial"]
    assert "1 level(s) not run" in doc["partial"] and "partial results:" in printed
    (level,) = doc["levels"]
    assert level["interrupted"] and level["requests"]["completed"] > 0
    assert level["requests"]["failed"] == 0 and level["duration_s"] < 30
