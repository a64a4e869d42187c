"""The `triserve` command line: compare the roles side by side, chat, list models, check health,
and run the comparison study.

    triserve compare "9.11和9.8哪个更大？" --max-new-tokens 256
    triserve compare "Hi" --roles instruct,reasoning --stream
    triserve chat --role reasoning
    triserve models && triserve health
    triserve study --samples 3 --out study-report

The server comes from --url or TRISERVE_URL (default http://127.0.0.1:8000), the key from
--api-key or TRISERVE_API_KEY.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

import typer
from pydantic import BaseModel, ValidationError
from rich.console import Console
from rich.text import Text

from clients import render
from clients._text import visible
from clients.bench import bench
from clients.cli_errors import handle_errors
from clients.client import Client
from serve.protocol import GenerationParams

app = typer.Typer(
    help="Compare a Base, an Instruct and a Reasoning model side by side on a triserve server.",
    no_args_is_help=True, add_completion=False, pretty_exceptions_enable=False,
)


@dataclass
class Settings:
    url: str | None
    api_key: str | None
    timeout: float
    max_retries: int

    def client(self) -> Client:
        return Client(self.url, api_key=self.api_key, timeout=self.timeout,
                      max_retries=self.max_retries)


@app.callback()
def main(
    ctx: typer.Context,
    url: Annotated[str | None, typer.Option(
        help="Server base URL.", envvar="TRISERVE_URL", show_envvar=True)] = None,
    api_key: Annotated[str | None, typer.Option(
        help="API key, sent as a Bearer token.", envvar="TRISERVE_API_KEY", show_envvar=True,
        show_default=False)] = None,
    timeout: Annotated[float, typer.Option(help="Seconds to wait for an answer.")] = 600.0,
    max_retries: Annotated[int, typer.Option(
        help="Retries on 408/429/5xx and lost connections.")] = 2,
):
    ctx.obj = Settings(url, api_key, timeout, max_retries)


# ---- generation flags, shared by compare / chat / study ------------------------------------------

MaxNew = Annotated[int | None, typer.Option("--max-new-tokens", "-m", help="Most new tokens.")]
Temperature = Annotated[float | None, typer.Option("--temperature", "-t", help="0 = greedy.")]
TopP = Annotated[float | None, typer.Option("--top-p", help="Nucleus sampling mass.")]
TopK = Annotated[int | None, typer.Option("--top-k", help="Keep the k likeliest tokens.")]
MinP = Annotated[float | None, typer.Option("--min-p", help="Drop tokens below min-p × top.")]
RepPenalty = Annotated[float | None, typer.Option("--repetition-penalty", help="1 = off.")]
Stop = Annotated[list[str] | None, typer.Option("--stop", help="Stop string (repeatable).")]
Seed = Annotated[int | None, typer.Option("--seed", help="Makes sampling repeatable.")]
Think = Annotated[bool | None, typer.Option(
    "--think/--no-think", help="Reasoning role: think first (default: the role's setting).",
    show_default=False)]
Roles = Annotated[list[str] | None, typer.Option(
    "--roles", "-r", help="Roles to ask, comma-separated or repeated (default: all).")]
System = Annotated[str | None, typer.Option("--system", "-s", help="System prompt for all roles.")]


def _params(**kw) -> GenerationParams:
    try:
        return GenerationParams(**kw)
    except ValidationError as exc:
        first = exc.errors()[0]
        raise typer.BadParameter(f"{'.'.join(map(str, first['loc']))}: {first['msg']}") from None


def _roles(roles: list[str] | None) -> list[str] | None:
    if not roles:
        return None
    return [r.strip() for item in roles for r in item.split(",") if r.strip()]


# ---- commands ---------------------------------------------------------------------------------


@app.command()
def compare(
    ctx: typer.Context,
    prompt: Annotated[str, typer.Argument(help="The prompt, sent to every role.")],
    roles: Roles = None,
    system: System = None,
    stream: Annotated[bool, typer.Option("--stream", help="Update the columns live.")] = False,
    json_out: Annotated[bool, typer.Option("--json", help="Print the raw result (JSON).")] = False,
    hide_thinking: Annotated[bool, typer.Option(
        "--hide-thinking", help="Fold the reasoning role's thinking away.")] = False,
    max_new_tokens: MaxNew = None, temperature: Temperature = None, top_p: TopP = None,
    top_k: TopK = None, min_p: MinP = None, repetition_penalty: RepPenalty = None,
    stop: Stop = None, seed: Seed = None, think: Think = None,
):
    """Send one prompt to several roles and show the answers side by side.

    Example: triserve compare "苹果、香蕉、橘子、胡萝卜" --temperature 0 -m 128
    """
    params = _params(max_new_tokens=max_new_tokens, temperature=temperature, top_p=top_p,
                     top_k=top_k, min_p=min_p, repetition_penalty=repetition_penalty, stop=stop,
                     seed=seed, enable_thinking=think)
    console = Console()
    with handle_errors(ctx.obj), ctx.obj.client() as client:
        args = dict(system=system, roles=_roles(roles), params=params)
        if not stream:
            response = client.compare(prompt, **args)
            if json_out:
                typer.echo(response.model_dump_json(indent=2))
            else:
                console.print(render.compare_table(render.views(response), not hide_thinking))
            return
        with client.compare_stream(prompt, **args) as events:
            if json_out:  # one JSON event per line, as they come
                for event in events:
                    typer.echo(event.model_dump_json(exclude_none=True))
                return
            _live_compare(console, events, _roles(roles), not hide_thinking)


def _live_compare(console: Console, events, roles: list[str] | None, show_thinking: bool) -> None:
    from rich.live import Live

    columns = {r: render.RoleView(r) for r in roles or []}
    with Live(render.compare_table(list(columns.values()), show_thinking), console=console,
              refresh_per_second=8, vertical_overflow="visible") as live:
        for event in events:
            columns.setdefault(event.role, render.RoleView(event.role)).add(event)
            live.update(render.compare_table(list(columns.values()), show_thinking))


@app.command()
def chat(
    ctx: typer.Context,
    prompt: Annotated[str | None, typer.Argument(
        help="Ask once and exit; without it, chat interactively.")] = None,
    role: Annotated[str, typer.Option("--role", help="The role to chat with.")] = "instruct",
    system: System = None,
    max_new_tokens: MaxNew = None, temperature: Temperature = None, top_p: TopP = None,
    top_k: TopK = None, min_p: MinP = None, repetition_penalty: RepPenalty = None,
    stop: Stop = None, seed: Seed = None, think: Think = None,
):
    """Chat with one role, streaming its answers (thinking dimmed). /exit or Ctrl-D ends.

    Example: triserve chat --role reasoning
    """
    params = _params(max_new_tokens=max_new_tokens, temperature=temperature, top_p=top_p,
                     top_k=top_k, min_p=min_p, repetition_penalty=repetition_penalty, stop=stop,
                     seed=seed, enable_thinking=think)
    console = Console(highlight=False)
    messages = [{"role": "system", "content": system}] if system else []
    with handle_errors(ctx.obj), ctx.obj.client() as client:
        while True:
            if prompt is not None:
                text = prompt
            else:
                try:
                    text = console.input("[bold green]you[/] › ")
                except EOFError:
                    console.print()
                    return
                if text.strip() in ("/exit", "/quit"):
                    return
                if not text.strip():
                    continue
            messages.append({"role": "user", "content": text})
            answer = _stream_reply(console, client, role, messages, params)
            messages.append({"role": "assistant", "content": answer})
            if prompt is not None:
                return


def _stream_reply(console: Console, client: Client, role: str, messages: list[dict],
                  params: GenerationParams) -> str:
    console.print(Text(f"{role} › ", style="bold cyan"), end="")
    answer, thought = "", False
    with client.chat(role, messages, params=params, stream=True) as chunks:
        for chunk in chunks:
            for choice in chunk.choices:
                thinking = choice.delta.reasoning_content
                if thinking:
                    console.print(Text(visible(thinking), style="dim italic"), end="",
                                  soft_wrap=True)
                    thought = True
                if choice.delta.content:
                    if thought:  # thinking done: the answer starts on its own line
                        console.print()
                        thought = False
                    answer += choice.delta.content
                    console.print(Text(visible(choice.delta.content)), end="", soft_wrap=True)
    console.print()
    return answer


JsonOut = Annotated[bool, typer.Option("--json", help="Print raw JSON.")]


def _show(model: BaseModel, json_out: bool, table) -> None:
    if json_out:
        typer.echo(model.model_dump_json(indent=2))
    else:
        Console().print(table(model))


@app.command()
def models(ctx: typer.Context, json_out: JsonOut = False):
    """List the roles and the model each serves."""
    with handle_errors(ctx.obj), ctx.obj.client() as client:
        _show(client.models(), json_out, render.models_table)


@app.command()
def health(ctx: typer.Context, json_out: JsonOut = False):
    """Each role's readiness; exits 1 when any role is down."""
    with handle_errors(ctx.obj), ctx.obj.client() as client:
        report = client.health()
    _show(report, json_out, render.health_table)
    if report.status != "ok":
        raise typer.Exit(1)


@app.command()
def study(
    ctx: typer.Context,
    samples: Annotated[int, typer.Option(
        "--samples", "-n", min=1, help="Answers per probe and role.")] = 3,
    out: Annotated[Path, typer.Option(
        "--out", "-o", help="Directory for the reports.")] = Path("study-report"),
    probes_file: Annotated[Path | None, typer.Option(
        "--probes", exists=True, dir_okay=False,
        help="A YAML probes file (default: the study's five).")] = None,
    only: Annotated[list[str] | None, typer.Option(
        "--probe", help="Run only this probe id (repeatable).")] = None,
    roles: Roles = None,
    concurrency: Annotated[int, typer.Option(min=1, help="Comparisons in flight at once.")] = 2,
    max_new_tokens: MaxNew = None, temperature: Temperature = None, seed: Seed = None,
    think: Think = None,
):
    """Run the study's probes against every role and write report.md, report.html, results.json.

    Example: triserve study --samples 3 -m 512 --out study-report
    """
    from clients.study.command import run

    params = _params(max_new_tokens=max_new_tokens, temperature=temperature, seed=seed,
                     enable_thinking=think)
    with handle_errors(ctx.obj), ctx.obj.client() as client:
        run(client, probes_file=probes_file, only=only, samples=samples, out=out,
            roles=_roles(roles), params=params, concurrency=concurrency)


app.command("bench")(bench)  # load testing: clients/bench.py


if __name__ == "__main__":
    app()
