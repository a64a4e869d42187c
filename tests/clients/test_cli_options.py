"""The CLI's shared options: connection options before or after the command's name, and the
generation options read off `GenerationParams` (names, bounds, help), against a scripted server."""

from __future__ import annotations

import json
import typing

import pytest
import typer
from scripted_http import Reply, compare_body
from typer.testing import CliRunner

from clients.cli import app
from clients.cli.options import SAMPLING, field_spec
from serve.api.protocol import GenerationParams

MODELS = {"object": "list", "data": [{"id": "m", "role": "instruct", "model": "m"}]}


@pytest.fixture
def cli(monkeypatch):
    monkeypatch.delenv("TRISERVE_URL", raising=False)
    monkeypatch.delenv("TRISERVE_API_KEY", raising=False)
    monkeypatch.setenv("COLUMNS", "160")

    def run(*args: str, code: int = 0):
        result = CliRunner().invoke(app, list(args))
        assert result.exit_code == code, result.output
        assert "Traceback" not in result.output
        return result

    return run


def test_connection_options_work_after_the_command(scripted, cli):
    scripted.script(Reply(200, compare_body("fine")))
    out = cli("compare", "--url", scripted.url, "--api-key", "sk-after", "hello", "-m", "3",
              "--max-retries", "0").stdout
    assert out.count("fine") == 3
    (seen,) = scripted.seen
    assert seen.path == "/v1/compare" and seen.headers["authorization"] == "Bearer sk-after"
    assert json.loads(seen.body)["params"] == {"max_new_tokens": 3}


def test_the_option_after_the_command_wins(scripted, cli, monkeypatch):
    monkeypatch.setenv("TRISERVE_URL", "http://127.0.0.1:9")  # the environment loses too
    scripted.script(Reply(200, MODELS))
    cli("--url", "http://127.0.0.1:9", "--api-key", "sk-before", "models", "--url", scripted.url)
    assert scripted.seen[0].headers["authorization"] == "Bearer sk-before"  # kept from before


def test_bench_takes_url_after_its_name(cli):
    err = cli("bench", "--url", "http://127.0.0.1:9", "-n", "1", code=1).output
    assert "cannot reach the triserve server at http://127.0.0.1:9" in err


def _options(command: str) -> dict:
    group = typer.main.get_command(app)
    return {p.name: p for p in group.commands[command].params}


@pytest.mark.parametrize("command", ["compare", "chat"])
def test_generation_options_are_the_wire_models_fields(command):
    options = _options(command)
    for name in SAMPLING:
        field = field_spec(name)
        option = options[name]
        assert field.description in option.help, name
        ranged = option.min, option.max
        assert ranged == (field.bounds.get("ge"), field.bounds.get("le")), name
        for key in ("gt", "lt"):  # exclusive bounds are stated in the help
            if key in field.bounds:
                assert f"{field.bounds[key]:g})" in option.help, name
    bench = _options("bench")
    assert {"max_new_tokens", "temperature"} <= set(bench) and "params" not in bench


def test_every_scalar_sampling_field_has_an_option():
    offered = set(SAMPLING)
    for name, field in GenerationParams.model_fields.items():
        if field_spec(name).type in (int, float) and name not in offered:
            assert name == "top_logprobs", f"GenerationParams.{name} has no CLI option"


@pytest.mark.parametrize("args, param", [(["--top-p", "0"], "top_p"),
                                         (["-t", "2.5"], "temperature"),
                                         (["--top-k", "-2"], "top-k")])
def test_out_of_bounds_values_are_usage_errors_naming_the_field(cli, args, param):
    out = cli("compare", "hi", "--url", "http://127.0.0.1:9", *args, code=2).output
    assert param in out


def test_field_spec_reads_nested_metadata():
    spec = field_spec("top_p")
    assert spec.type is float and spec.bounds == {"gt": 0.0, "le": 1.0}
    assert field_spec("stop").type == list[str]
    assert typing.get_origin(field_spec("stop").type) is list
