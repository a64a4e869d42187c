"""`triserve leaderboard` and `triserve votes export`, in-process (typer's CliRunner), against a
deployed app with scripted roles and a temporary votes database."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from clients import Client
from clients.cli import app
from serve.api.votes import Leaderboard, VoteRecord

from test_arena_sdk import ROLES, deploy_arena

RUNNER = CliRunner()


@pytest.fixture(scope="module")
def arena_cli(serve_instance, tmp_path_factory):
    """An app holding six votes: reasoning wins four, instruct one, and one tie."""
    from ray import serve

    url = deploy_arena("arenacli", serve_instance, tmp_path_factory)
    answers = [{"role": r, "model": f"m-{r}", "content": f"{r} answer"} for r in ROLES]
    with Client(url) as client:
        for i, winner in enumerate(["reasoning"] * 4 + ["instruct", None]):
            client.vote(f"cli-{i}", "winner" if winner else "tie", winner=winner,
                        answers=answers, prompt=f"question {i}")
    yield url
    serve.delete("arenacli")


@pytest.fixture
def triserve(arena_cli):
    """`triserve ARGS --url APP` in-process; checks the exit code and that no traceback shows."""
    return lambda *args, code=0: _checked(RUNNER.invoke(
        app, [*args, "--url", arena_cli], env={"COLUMNS": "140", "TRISERVE_API_KEY": None}), code)


def _checked(result, code: int):
    assert result.exit_code == code and "Traceback" not in result.output, result.output
    return result


def test_leaderboard_table_by_model_and_role(triserve):
    out = triserve("leaderboard").stdout
    assert "6 votes" in out and "95% interval" in out
    # Style held equal first, then the plain fit, then what style alone does.
    styled, plain = out.split("(plain fit)")
    assert "(style held equal)" in styled and "length" in plain and "log-odds" in plain
    for table in (styled, plain.split("What style alone")[0]):
        rows = [line for line in table.splitlines() if "m-" in line]
        assert len(rows) == 3
    plain_rows = [line for line in triserve("leaderboard", "--no-style").stdout.splitlines()
                  if "m-" in line]
    assert "m-reasoning" in plain_rows[0] and len(plain_rows) == 3
    out = triserve("leaderboard", "--by", "role").stdout
    assert "by role" in out and "m-" not in out and "reasoning" in out


def test_leaderboard_json(triserve):
    out = triserve("leaderboard", "--json", "--by", "role").stdout
    board = Leaderboard.model_validate_json(out)
    assert board.votes == 6 and board.standings[0].name == "reasoning"
    assert board.standings[0].wins == 8 and board.bootstrap_samples == 100


def test_votes_export_to_stdout_and_to_a_file(triserve, tmp_path):
    lines = triserve("votes", "export").stdout.splitlines()
    records = [VoteRecord.model_validate_json(line) for line in lines]
    assert [r.comparison_id for r in records] == [f"cli-{i}" for i in range(6)]
    out = tmp_path / "votes.jsonl"
    result = triserve("votes", "export", "-o", str(out))
    assert "6 votes written" in result.output
    assert [json.loads(line)["comparison_id"] for line in out.read_text().splitlines()] == \
        [r.comparison_id for r in records]


def test_a_bad_option_and_an_unreachable_server_are_one_line_errors(triserve):
    assert triserve("leaderboard", "--by", "colour", code=2).output
    result = _checked(RUNNER.invoke(app, ["votes", "export", "--url", "http://127.0.0.1:9",
                                          "--max-retries", "0"]), 1)
    assert "cannot reach" in result.output
