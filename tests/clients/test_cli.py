"""The `triserve` command line, run in-process (typer's CliRunner) against the real server."""

from __future__ import annotations

import json

import pytest
from scripted_http import Reply
from typer.testing import CliRunner

from clients.cli import app
from serve.api.protocol import CompareEvent, CompareResponse

ROLES = ["base", "instruct", "reasoning"]


@pytest.fixture
def triserve(tiny_app, monkeypatch):
    """Runs `triserve ARGS` against the tiny app (the URL from the environment, as users do)."""
    monkeypatch.setenv("TRISERVE_URL", tiny_app)
    monkeypatch.delenv("TRISERVE_API_KEY", raising=False)
    monkeypatch.setenv("COLUMNS", "120")
    runner = CliRunner()

    def run(*args: str, input: str | None = None, code: int = 0):
        result = runner.invoke(app, list(args), input=input)
        assert result.exit_code == code, result.output
        assert "Traceback" not in result.output
        return result

    return run


def test_compare_shows_roles_side_by_side(triserve):
    out = triserve("compare", "hello", "-m", "4").stdout
    header = next(line for line in out.splitlines() if "base" in line)
    assert header.index("base") < header.index("instruct") < header.index("reasoning")
    assert "tiny-qwen3" in out and "thinking" in out
    assert out.count("4 tok ·") == 3 and out.count("tok/s") == 3


def test_compare_json_roles_system_and_flags(triserve):
    out = triserve("compare", "hello", "--json", "--roles", "base,reasoning", "--system", "Be",
                   "-m", "3", "-t", "0", "--no-think").stdout
    result = CompareResponse.model_validate_json(out)
    assert [r.role for r in result.results] == ["base", "reasoning"]
    assert all(r.usage.completion_tokens <= 3 for r in result.results)
    assert result.result("reasoning").thinking is None  # --no-think


def test_compare_markdown_matches_the_json(triserve):
    args = ("compare", "hello", "-m", "4", "-t", "0", "--max-thinking-tokens", "2")
    whole = CompareResponse.model_validate_json(triserve(*args, "--json").stdout)
    md = triserve(*args, "--markdown").stdout
    assert md.startswith("# Comparison cmp-") and "> hello" in md
    assert "`max_new_tokens=4`" in md and "`max_thinking_tokens=2`" in md
    for r in whole.results:
        assert f"## {r.role} — {r.model}" in md and r.content in md
    assert "<details><summary>Thinking</summary>" in md  # the reasoning role thought (2 tokens)
    triserve(*args, "--markdown", "--json", code=2)


def test_compare_stream(triserve):
    out = triserve("compare", "hi", "--stream", "-m", "4", "-r", "instruct",
                   "-r", "reasoning").stdout
    assert "instruct" in out and "reasoning" in out and out.count("tok/s") == 2
    lines = triserve("compare", "hello", "--stream", "--json", "-m", "2").stdout.splitlines()
    events = [CompareEvent.model_validate_json(line) for line in lines]
    assert sorted(e.role for e in events if e.type == "result") == ROLES


def test_models_and_health(triserve):
    out = triserve("models").stdout
    assert all(role in out for role in ROLES) and "tiny-qwen2" in out
    assert json.loads(triserve("models", "--json").stdout)["data"][2]["model"] == "tiny-qwen3"
    out = triserve("health").stdout
    assert "status: ok" in out and out.count(" ok ") >= 3


def test_chat_one_shot_and_interactive(triserve):
    out = triserve("chat", "--role", "reasoning", "hi", "-m", "3").stdout
    assert "reasoning ›" in out
    out = triserve("chat", "--role", "instruct", "-m", "3",
                   input="hello\n\nagain\n/exit\n").stdout
    assert out.count("instruct ›") == 2  # the empty line asked nothing


def test_chat_side_by_side_keeps_each_roles_thread_regenerates_and_votes(threads_app,
                                                                         monkeypatch):
    """`triserve chat` with no --role: every role answers each turn in its column, each with
    its own thread (what the scripted engines were sent on turn 3), /regen asks one column
    again with a new seed, /vote votes on the last turn."""
    url, records = threads_app
    records.clear()
    monkeypatch.setenv("COLUMNS", "200")
    result = CliRunner().invoke(app, ["--url", url, "chat", "-r", "base,instruct,reasoning"],
                                input="one\ntwo\nthree\n/regen instruct\n/vote instruct\n"
                                      "/vote nobody\n/exit\n")
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert "turn 1" in out and "turn 3" in out and out.count("I am instruct.") >= 4
    assert "vote saved (turn 3" in out
    assert "vote not saved" in out and "nobody" in out  # a winner that is no role: said, not fatal
    third = records("instruct")[2]["messages"]
    assert [m["content"] for m in third] == ["Be brief.", "one", "I am instruct.", "two",
                                             "I am instruct.", "three"]
    assert records("base")[2]["prompt"] == "one continued text.\n\ntwo continued text.\n\nthree"
    regen = records("instruct")[3]
    assert regen["messages"] == records("instruct")[2]["messages"] and regen["seed"] is not None
    assert len(records("base")) == 3  # /regen instruct asked no other role


def test_bad_flags_and_unknown_role_are_clear(triserve):
    out = triserve("compare", "hi", "-t", "-1", code=2).output
    assert "temperature" in out
    out = triserve("compare", "hi", "-r", "nope", code=1).output
    assert "error: 404 unknown role 'nope'" in out and "param: roles" in out


def test_unreachable_server_is_one_clear_line(triserve):
    out = triserve("--url", "http://127.0.0.1:9", "--max-retries", "0", "models", code=1).output
    assert out.startswith("error: cannot reach the triserve server at http://127.0.0.1:9")


def test_wrong_or_missing_key_on_a_real_server(triserve, faulty_app):
    out = triserve("--url", faulty_app, "--api-key", "sk-wrong", "models", code=1).output
    assert out.startswith(f"error: {faulty_app} answered 401: an API key was refused")
    out = triserve("--url", faulty_app, "models", code=1).output
    assert "an API key is needed and none was given. Set --api-key or TRISERVE_API_KEY" in out
    out = triserve("--url", faulty_app, "--api-key", "sk-clients-test", "models").output
    assert "scripted" in out


def test_wrong_key_is_one_clear_line(triserve, scripted):
    body = {"error": {"message": "invalid API key", "type": "authentication_error",
                      "code": "invalid_api_key", "param": None}}
    scripted.script(Reply(401, body, {"www-authenticate": "Bearer"}))
    out = triserve("--url", scripted.url, "--api-key", "sk-wrong", "health", code=1).output
    assert "answered 401: an API key was refused" in out and "TRISERVE_API_KEY" in out
    assert scripted.seen[0].headers["authorization"] == "Bearer sk-wrong"


def test_study_writes_both_reports_for_all_probes_and_roles(triserve, tmp_path):
    out_dir = tmp_path / "report"
    result = triserve("study", "--samples", "1", "-m", "4", "--out", str(out_dir))
    assert "study summary" in result.stdout and "report.html" in result.stdout
    # Not a terminal: a progress line on stderr per comparison answered (three answers each),
    # with the count and, until the last, the time left.
    progress = [line for line in result.stderr.splitlines() if line.startswith("answers ")]
    assert [line.split(" · ")[0] for line in progress] == [f"answers {k}/15" for k in
                                                            range(3, 16, 3)]
    assert "left" in progress[0] and "left" not in progress[-1]
    data = json.loads((out_dir / "results.json").read_text("utf-8"))
    pairs = {(s["probe"], s["role"]) for s in data["samples"]}
    probes = ["no-instruction", "summary-prefix", "decimal-compare", "vague-request", "cet4-plan"]
    assert pairs == {(p, r) for p in probes for r in ROLES}
    assert all(s["measures"]["tokens"] <= 4 for s in data["samples"])
    md = (out_dir / "report.md").read_text("utf-8")
    page = (out_dir / "report.html").read_text("utf-8")
    for probe in probes:
        assert f"(`{probe}`)" in md and f'id="{probe}"' in page
    assert page.count('class="answer"') == 15


def test_study_with_own_probes_file(triserve, tmp_path):
    probes = tmp_path / "mine.yaml"
    # The second probe is over the role's input limit: refused (400), recorded, the study goes on.
    probes.write_text("probes:\n- id: hi\n  title: Hi\n  prompt: hello\n"
                      "  checks: [{type: not-contains, value: zzz}]\n"
                      f"- id: long\n  title: Long\n  prompt: {'hello ' * 2000}\n", "utf-8")
    out_dir = tmp_path / "r"
    triserve("study", "--probes", str(probes), "-n", "2", "-m", "2", "-r", "instruct",
             "--seed", "1", "--out", str(out_dir))
    data = json.loads((out_dir / "results.json").read_text("utf-8"))
    by_probe = {p: [s for s in data["samples"] if s["probe"] == p] for p in ("hi", "long")}
    assert [s["role"] for s in by_probe["hi"]] == ["instruct"] * 2
    passed = [{"check": "not-contains zzz", "passed": True}]
    assert all(s["checks"] == passed and s["result"]["error"] is None for s in by_probe["hi"])
    assert len(by_probe["long"]) == 2
    assert all(s["result"]["error"]["param"] == "prompt" for s in by_probe["long"])
    out = triserve("study", "--probe", "nope", code=1).output
    assert "no probe 'nope'" in out


def test_ctrl_c_during_a_study_keeps_a_partial_report(triserve, tmp_path, monkeypatch):
    """Ctrl-C (a KeyboardInterrupt, here raised by the third comparison) stops the study; what was
    measured is reported, marked partial, and the command exits 130."""
    from clients.client import Client

    real, calls = Client.compare, []

    def compare(self, *args, **kwargs):
        calls.append(1)
        if len(calls) == 3:
            raise KeyboardInterrupt
        return real(self, *args, **kwargs)

    monkeypatch.setattr(Client, "compare", compare)
    out_dir = tmp_path / "report"
    result = triserve("study", "--samples", "1", "-m", "4", "--concurrency", "1",
                      "--judge", "instruct", "--out", str(out_dir), code=130)
    data = json.loads((out_dir / "results.json").read_text("utf-8"))
    assert len(data["samples"]) == 6 and "judging" not in data
    assert data["partial"].startswith("interrupted (Ctrl-C) during the answers: 6 of 15")
    assert "PARTIAL REPORT: interrupted" in (out_dir / "report.md").read_text("utf-8")
    assert "PARTIAL REPORT: interrupted" in (out_dir / "report.html").read_text("utf-8")
    assert "partial report:" in result.stdout and "study summary" in result.stdout


def test_compare_battle_shows_letters_then_the_vote_reveals_them(five_app):
    result = CliRunner().invoke(app, ["--url", five_app, "compare", "hi", "--battle", "2",
                                      "-m", "3"], input="a\n")
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert "tiny-qwen" not in out.split("vote (")[0]  # nothing named before the vote
    assert "A was " in out and "B was " in out and "(tiny-qwen" in out
    result = CliRunner().invoke(app, ["--url", five_app, "compare", "hi", "--battle", "2",
                                      "-m", "3"], input="\n")
    assert "no vote: the names stay hidden" in result.stdout
