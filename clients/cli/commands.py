"""The commands of `triserve` that talk to a server: compare, chat, models, health, study.

Each takes the connection options (before or after its name) and the generation options of
`GenerationParams` it needs (clients/cli/options.py), as one validated `params`.
"""

from __future__ import annotations

from enum import Enum
from pathlib import Path
from typing import Annotated

import typer
from pydantic import BaseModel
from rich.console import Console
from rich.text import Text

from clients._text import visible
from clients.cli import render
from clients.cli.errors import handle_errors
from clients.cli.options import SAMPLING, connection_options, generation_options
from clients.client import Client
from serve.api.protocol import GenerationParams

Roles = Annotated[list[str] | None, typer.Option(
    "--roles", "-r", help="Roles to ask, comma-separated or repeated (default: all).")]
System = Annotated[str | None, typer.Option("--system", "-s", help="System prompt for all roles.")]
JsonOut = Annotated[bool, typer.Option("--json", help="Print raw JSON.")]


class JudgeFormat(str, Enum):
    """How the study's judge answers (clients/study/judge.py ENDINGS)."""

    text = "text"
    json = "json"


def split_roles(roles: list[str] | None) -> list[str] | None:
    """`--roles a,b --roles c` → ["a", "b", "c"]; None when none were given."""
    if not roles:
        return None
    return [r.strip() for item in roles for r in item.split(",") if r.strip()]


@connection_options
@generation_options(*SAMPLING)
def compare(
    ctx: typer.Context,
    prompt: Annotated[str, typer.Argument(help="The prompt, sent to every role.")],
    params: GenerationParams,
    roles: Roles = None,
    system: System = None,
    stream: Annotated[bool, typer.Option("--stream", help="Update the columns live.")] = False,
    json_out: Annotated[bool, typer.Option("--json", help="Print the raw result (JSON).")] = False,
    markdown: Annotated[bool, typer.Option(
        "--markdown", help="Print the comparison as a Markdown document.")] = False,
    hide_thinking: Annotated[bool, typer.Option(
        "--hide-thinking", help="Fold the reasoning role's thinking away.")] = False,
    battle: Annotated[int | None, typer.Option(
        "--battle", min=2, help="An anonymous battle: this many roles drawn at random, shown "
        "as A, B, …; then asks for your vote, which reveals them.")] = None,
):
    """Send one prompt to several roles and show the answers side by side.

    Example: triserve compare "苹果、香蕉、橘子、胡萝卜" --temperature 0 -m 128 --markdown > cmp.md
    """
    console = Console()
    if json_out and markdown:
        raise typer.BadParameter("give --json or --markdown, not both")
    if battle is not None and roles:
        raise typer.BadParameter("a battle draws its own roles: give --battle or --roles",
                                 param_hint="--battle")
    with handle_errors(ctx.obj), ctx.obj.client() as client:
        if battle is not None:
            from clients.cli.conversation import battle_and_vote

            battle_and_vote(console, client, prompt, battle, system, params, not hide_thinking)
            return
        args = dict(system=system, roles=split_roles(roles), params=params)
        if not stream or markdown:  # a document is written once the answers are whole
            response = client.compare(prompt, **args)
            if markdown:
                typer.echo(render.compare_markdown(prompt, system, params, response))
            elif json_out:
                typer.echo(response.model_dump_json(indent=2))
            else:
                console.print(render.compare_table(render.views(response), not hide_thinking))
            return
        with client.compare_stream(prompt, **args) as events:
            if json_out:  # one JSON event per line, as they come
                for event in events:
                    typer.echo(event.model_dump_json(exclude_none=True))
                return
            _live_compare(console, events, split_roles(roles), not hide_thinking)


def _live_compare(console: Console, events, roles: list[str] | None, show_thinking: bool) -> None:
    from rich.live import Live

    columns = {r: render.RoleView(r) for r in roles or []}
    with Live(render.compare_table(list(columns.values()), show_thinking), console=console,
              refresh_per_second=8, vertical_overflow="visible") as live:
        for event in events:
            columns.setdefault(event.role, render.RoleView(event.role)).add(event)
            live.update(render.compare_table(list(columns.values()), show_thinking))


@connection_options
@generation_options(*SAMPLING)
def chat(
    ctx: typer.Context,
    params: GenerationParams,
    prompt: Annotated[str | None, typer.Argument(
        help="Ask once and exit; without it, chat interactively.")] = None,
    role: Annotated[str | None, typer.Option(
        "--role", help="Chat with this one role alone (streamed, OpenAI chat route).")] = None,
    roles: Roles = None,
    system: System = None,
    hide_thinking: Annotated[bool, typer.Option(
        "--hide-thinking", help="Fold the reasoning roles' thinking away.")] = False,
):
    """Chat with every role side by side (or --roles, or one --role): each turn goes to each
    role with its own earlier answers, and each answer shows in its column.

    At the prompt: /regen [ROLE] asks the last turn again with a new seed (one role, or all);
    /vote ROLE | tie | bad votes on the last turn; /exit or Ctrl-D ends.

    Example: triserve chat -r instruct,reasoning -m 128
    """
    console = Console(highlight=False)
    if role is not None and roles:
        raise typer.BadParameter("give --role (one) or --roles (several), not both",
                                 param_hint="--role")
    with handle_errors(ctx.obj), ctx.obj.client() as client:
        if role is not None:
            _chat_one(console, client, role, prompt, system, params)
        else:
            from clients.cli.conversation import side_by_side

            side_by_side(console, client, split_roles(roles), prompt, system, params,
                         not hide_thinking)


def _chat_one(console: Console, client: Client, role: str, prompt: str | None,
              system: str | None, params: GenerationParams) -> None:
    messages = [{"role": "system", "content": system}] if system else []
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


def _show(model: BaseModel, json_out: bool, table) -> None:
    if json_out:
        typer.echo(model.model_dump_json(indent=2))
    else:
        Console().print(table(model))


@connection_options
def models(ctx: typer.Context, json_out: JsonOut = False):
    """List the roles and the model each serves."""
    with handle_errors(ctx.obj), ctx.obj.client() as client:
        _show(client.models(), json_out, render.models_table)


@connection_options
def health(ctx: typer.Context, json_out: JsonOut = False):
    """Each role's readiness; exits 1 when any role is down."""
    with handle_errors(ctx.obj), ctx.obj.client() as client:
        report = client.health()
    _show(report, json_out, render.health_table)
    if report.status != "ok":
        raise typer.Exit(1)


@connection_options
@generation_options("max_new_tokens", "temperature", "seed", "enable_thinking",
                    "max_thinking_tokens")
def study(
    ctx: typer.Context,
    params: GenerationParams,
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
    concurrency: Annotated[int, typer.Option(
        min=1, help="Comparisons (and judge calls) in flight at once.")] = 2,
    judge: Annotated[str | None, typer.Option(
        "--judge", rich_help_panel="Judge",
        help="A role of this server that judges the answers pairwise, both orders.")] = None,
    judge_url: Annotated[str | None, typer.Option(
        rich_help_panel="Judge",
        help="Or an OpenAI-compatible server that judges (its /v1/chat/completions).")] = None,
    judge_model: Annotated[str | None, typer.Option(
        rich_help_panel="Judge", help="The judge's model name at --judge-url.")] = None,
    judge_api_key: Annotated[str | None, typer.Option(
        rich_help_panel="Judge", envvar="TRISERVE_JUDGE_API_KEY", show_envvar=True,
        show_default=False, help="API key for --judge-url (never the triserve key).")] = None,
    judge_max_tokens: Annotated[int, typer.Option(
        min=1, rich_help_panel="Judge", help="Most tokens per verdict.")] = 512,
    judge_format: Annotated[JudgeFormat, typer.Option(
        rich_help_panel="Judge", help="text: the judge reasons, then ends with a VERDICT line; json: its answer is "
             "constrained to {verdict, reason} (response_format), readable even from a small "
             "model.")] = JudgeFormat.text,
    thinking_budgets: Annotated[str | None, typer.Option(
        "--thinking-budgets", rich_help_panel="Thinking budget", metavar="N,N,…",
        help="Also run the budget role at each max_thinking_tokens (0 = no thinking), "
             "e.g. 0,256,1024.")] = None,
    budget_role: Annotated[str, typer.Option(
        rich_help_panel="Thinking budget", help="The role the budgets apply to.")] = "reasoning",
):
    """Run the study's probes against every role and write report.md, report.html, results.json.

    Every measure comes with a bootstrap 95% interval over the samples. --judge (or --judge-url
    with --judge-model) adds pairwise verdicts against each probe's rubric; --thinking-budgets
    adds a table and plot of the budget role against its budget.

    Example: triserve study -n 10 -m 256 --judge instruct --thinking-budgets 0,64,256
    """
    from clients.study.budgets import parse_budgets
    from clients.study.command import JudgeChoice, StudySetupError, StudyStopped, run

    if judge is not None and judge_url is not None:
        raise typer.BadParameter("give --judge ROLE or --judge-url URL, not both",
                                 param_hint="--judge")
    if (judge_url is None) != (judge_model is None):
        raise typer.BadParameter("--judge-url and --judge-model go together",
                                 param_hint="--judge-url")
    choice = None
    if judge is not None or judge_url is not None:
        choice = JudgeChoice(role=judge, url=judge_url, model=judge_model,
                             api_key=judge_api_key, max_tokens=judge_max_tokens,
                             timeout_s=ctx.obj.timeout, fmt=judge_format.value)
    try:
        budgets = parse_budgets(thinking_budgets) if thinking_budgets is not None else []
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="--thinking-budgets") from None
    with handle_errors(ctx.obj), ctx.obj.client() as client:
        try:
            run(client, probes_file=probes_file, only=only, samples=samples, out=out,
                roles=split_roles(roles), params=params, concurrency=concurrency,
                judge=choice, budgets=budgets, budget_role=budget_role)
        except StudySetupError as exc:
            raise typer.BadParameter(str(exc), param_hint=exc.option) from None
        except StudyStopped:
            raise typer.Exit(130) from None
