"""`triserve study --judge … --thinking-budgets …` in-process against a real Serve app of scripted
roles: a judge role whose verdict is scripted, a reasoning role whose thinking must never reach
the judge, and an OpenAI-compatible judge server of our own that records what it was asked."""

from __future__ import annotations

import json
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from typer.testing import CliRunner

from clients.cli import app

SECRET = "SECRET-THOUGHT-42"
STUDY_KEY = "sk-study-judge-test"
ROLES = ["base", "instruct", "reasoning"]


@pytest.fixture(scope="module")
def judged_app(serve_instance, tmp_path_factory) -> str:
    """base continues the list, instruct answers, reasoning thinks SECRET first; `judge` always
    says A. Behind the API key STUDY_KEY."""
    from apps import scripted_role
    from ray import serve
    from serving import deploy

    keys = tmp_path_factory.mktemp("study-keys") / "keys.txt"
    keys.write_text(f"{STUDY_KEY}\n")
    reasoning = scripted_role(think=[SECRET, " hmm"], tokens=["9.8", " is larger."])
    reasoning["reasoning"] = True
    args = {"roles": {
        "base": scripted_role(tokens=["、果干", "、金罗"]),
        "instruct": scripted_role(tokens=["9.8", "更大。"]),
        "reasoning": reasoning,
        "judge": scripted_role(tokens=["Both are fine.\n", "VERDICT: A"]),
    }, "ingress": {"api_keys_env": None, "api_keys_file": str(keys)}}
    yield deploy("study_judge", args, serve_instance)
    serve.delete("study_judge")


@pytest.fixture
def triserve(judged_app, monkeypatch):
    monkeypatch.setenv("TRISERVE_URL", judged_app)
    monkeypatch.setenv("TRISERVE_API_KEY", STUDY_KEY)
    monkeypatch.delenv("TRISERVE_JUDGE_API_KEY", raising=False)
    monkeypatch.setenv("COLUMNS", "100")
    runner = CliRunner()

    def run(*args: str, code: int = 0):
        result = runner.invoke(app, list(args))
        assert result.exit_code == code, result.output
        assert "Traceback" not in result.output
        return result

    return run


PROBES = ["--probe", "no-instruction", "--probe", "decimal-compare"]


def test_judge_role_and_budgets(triserve, tmp_path):
    out = tmp_path / "r"
    result = triserve("study", *PROBES, "-n", "2", "-r", ",".join(ROLES), "--judge", "judge",
                      "--thinking-budgets", "0,2", "--seed", "3", "--out", str(out))
    assert "study summary" in result.stdout and "judge" in result.stdout
    data = json.loads((out / "results.json").read_text("utf-8"))
    judging = data["judging"]
    # 2 probes × 2 samples × 3 pairs, and each budget's 4 answers against instruct's.
    assert len(judging["pairs"]) == 12 and judging["reference"] == "instruct"
    assert {b: len(ps) for b, ps in judging["budget_pairs"].items()} == {"0": 4, "2": 4}
    verdicts = [v for p in judging["pairs"] for v in p["verdicts"]]
    assert len(verdicts) == 24 and {v["verdict"] for v in verdicts} == {"A"}
    assert all("VERDICT: A" in v["raw"] for v in verdicts)
    # Always "A": the two orders disagree on every pair, so every pair is a tie.
    assert {p["score_x"] for p in judging["pairs"]} == {0.5}
    summary = {row["role"]: row for row in data["summary"]}
    assert all(summary[r]["judge"]["value"] == 0.5 for r in ROLES)
    assert summary["base"]["continuation"]["value"] == 1.0  # the list carried on ("、果干")
    assert summary["instruct"]["continuation"]["value"] == 0.0
    # Budgets: the reasoning role alone, labelled; budget 0 is thinking off.
    budget = data["budget_samples"]
    assert {s["role"] for s in budget["0"]} == {"reasoning@0"} and len(budget["2"]) == 4
    assert all(s["result"]["thinking"] is None for s in budget["0"])
    assert all(s["result"]["thinking"] for s in budget["2"])
    assert [row["label"] for row in data["budgets"]] == ["reasoning@0", "reasoning@2", "reasoning"]
    page = (out / "report.html").read_text("utf-8")
    assert "data:image/png;base64," in page and "The judge" in page
    assert SECRET in page  # the report shows the thinking; the judge never saw it (below)


class JudgeServer:
    """An OpenAI-compatible /v1/chat/completions that prefers the answer saying 9.8更大 and keeps
    every request it got."""

    def __init__(self):
        self.requests: list[dict] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers["content-length"])))
                body["authorization"] = self.headers.get("authorization")
                server.requests.append(body)
                prompt = body["messages"][-1]["content"]
                a = prompt.split("# Answer A\n", 1)[-1].split("\n\n# Answer B", 1)[0]
                verdict = "A" if "9.8更大" in a else "B"
                if "Reply with: VERDICT: TIE" in prompt:
                    verdict = "TIE"
                data = json.dumps({
                    "id": "chatcmpl-1", "object": "chat.completion", "created": 0,
                    "model": body["model"], "system_fingerprint": "fp", "choices": [{
                        "index": 0, "finish_reason": "stop",
                        "message": {"role": "assistant", "content": f"Fine.\nVERDICT: {verdict}"},
                    }], "usage": {"prompt_tokens": 9, "completion_tokens": 3, "total_tokens": 12},
                }).encode()
                self.send_response(200)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    @property
    def prompts(self) -> list[str]:
        return [r["messages"][-1]["content"] for r in self.requests]


@pytest.fixture
def judge_server():
    server = JudgeServer()
    yield server
    server.httpd.shutdown()


def test_judge_url_asks_both_orders_and_never_sees_thinking(triserve, judge_server, tmp_path):
    out = tmp_path / "r"
    triserve("study", "--probe", "decimal-compare", "-n", "2", "-r", ",".join(ROLES),
             "--judge-url", judge_server.url + "/v1", "--judge-model", "big-judge",
             "--judge-api-key", "sk-judge", "--judge-max-tokens", "64", "--out", str(out))
    first, *calls = judge_server.requests
    assert "Reply with: VERDICT: TIE" in first["messages"][0]["content"]  # the check up front
    assert len(calls) == 2 * 3 * 2  # samples × pairs × orders
    assert all(r["model"] == "big-judge" and r["authorization"] == "Bearer sk-judge"
               and r["temperature"] == 0.0 and r["max_completion_tokens"] == 64 for r in calls)
    prompts = judge_server.prompts[1:]
    assert not any(SECRET in p or "hmm" in p for p in prompts)
    assert all("# Rubric\nThe correct answer is that 9.8 is larger" in p for p in prompts)
    # Each pair in both orders: the same two answers, A and B swapped.
    shown = [(p.split("# Answer A\n")[1].split("\n\n# Answer B")[0],
              p.split("# Answer B\n")[1].split("\n\nThink briefly")[0]) for p in prompts]
    assert sorted(shown) == sorted((b, a) for a, b in shown)
    data = json.loads((out / "results.json").read_text("utf-8"))
    summary = {row["role"]: row["judge"]["value"] for row in data["summary"]}
    assert summary == {"base": 0.25, "instruct": 1.0, "reasoning": 0.25}
    assert data["judging"]["judge"].startswith("big-judge at " + judge_server.url)


def test_judge_url_without_a_key_sends_none(triserve, judge_server, tmp_path):
    triserve("study", "--probe", "decimal-compare", "-n", "1", "-r", "base,instruct",
             "--judge-url", judge_server.url, "--judge-model", "m", "--out", str(tmp_path))
    # TRISERVE_API_KEY is set for the study's server; it must not travel to the judge's.
    assert [r["authorization"] for r in judge_server.requests] == [None] * 3


def test_json_format_constrains_the_judges_answer(triserve, judge_server, tmp_path):
    triserve("study", "--probe", "decimal-compare", "-n", "1", "-r", "base,instruct",
             "--judge-url", judge_server.url, "--judge-model", "m", "--judge-format", "json",
             "--out", str(tmp_path))
    formats = [r["response_format"] for r in judge_server.requests]
    assert len(formats) == 3 and all(f["type"] == "json_schema" for f in formats)
    # The SDK dumps request bodies without by_alias today, so the schema travels as `schema_`
    # (the server accepts both; OpenAI's name is `schema`): reported, clients/_core.py.
    sent = formats[1]["json_schema"]
    schema = sent.get("schema") or sent["schema_"]
    assert schema["properties"]["verdict"]["enum"] == ["A", "B", "TIE"]
    assert all(p.endswith('"reason": one short sentence}.') for p in judge_server.prompts[1:])


def test_bad_judge_options_are_clear(triserve, tmp_path):
    def error(*args: str) -> str:  # click's boxed message, unwrapped
        out = triserve("study", *args, "--out", str(tmp_path), code=2).output
        return " ".join(re.sub(r"[│╭╮╰╯─]", " ", out).split())

    assert "--judge: the server has no role 'nope'" in error("--judge", "nope")
    assert "not both" in error("--judge", "judge", "--judge-url", "http://x")
    assert "--judge-url and --judge-model go together" in error("--judge-url", "http://x")
    out = error("--judge-url", "http://127.0.0.1:9", "--judge-model", "m", "--max-retries", "0")
    assert "--judge-url: the judge (m at http://127.0.0.1:9) did not answer a test" in out
    assert "'lots'" in error("--thinking-budgets", "0,lots")
    assert "--budget-role: the server has no role" in error("--thinking-budgets", "0",
                                                            "--budget-role", "nope")
