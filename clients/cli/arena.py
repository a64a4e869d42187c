"""The arena's commands: the leaderboard made from the votes, and the votes themselves.

    triserve leaderboard                  # models, best first, Elo points with 95% intervals
    triserve leaderboard --by role --json
    triserve leaderboard --no-style       # the plain fit (default: answer length and Markdown held equal)
    triserve leaderboard --category decimal-compare   # one category's votes alone
    triserve votes export -o votes.jsonl  # every vote, one JSON object a line (stdout without -o)
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

import typer
from rich.console import Console
from rich.table import Table

from clients.cli.commands import JsonOut
from clients.cli.errors import handle_errors
from clients.cli.options import connection_options
from serve.api.votes import Leaderboard

votes_app = typer.Typer(help="The arena's votes.", no_args_is_help=True)

By = Annotated[Literal["model", "role"], typer.Option(
    "--by", help="Rank the answers' models or their roles.")]


def leaderboard_table(board: Leaderboard, raw: bool = False) -> Table:
    """The standings as a rich table (Elo points; the interval is the bootstrap 95% one); `raw`:
    the plain fit of a style-controlled board."""
    kind = "plain fit" if raw or not board.style_control else "style held equal"
    of = f" in {board.category}" if board.category else ""
    table = Table(title=f"Leaderboard by {board.by}{of} ({kind}): {board.votes} votes, "
                        f"{board.comparisons} pairwise outcomes, {board.bootstrap_samples} "
                        "bootstrap samples", title_justify="left")
    for name, justify in (("rank", "right"), (board.by, "left"), ("Elo", "right"),
                          ("95% interval", "right"), ("wins", "right"), ("losses", "right"),
                          ("ties", "right")):
        table.add_column(name, justify=justify)
    for s in (board.raw_standings if raw else board.standings) or []:
        interval = f"{s.ci_low:.0f} – {s.ci_high:.0f}"
        table.add_row(str(s.rank), s.name, f"{s.strength:.0f}", interval, str(s.wins),
                      str(s.losses), str(s.ties))
    return table


def style_table(board: Leaderboard) -> Table:
    """The style coefficients: log-odds per standard deviation, with 95% intervals."""
    table = Table(title="What style alone does to a vote (log-odds per standard deviation)",
                  title_justify="left")
    for name in ("feature", "coefficient", "95% interval"):
        table.add_column(name, justify="left" if name == "feature" else "right")
    for c in board.style_coefficients or []:
        table.add_row(c.feature, f"{c.coefficient:+.3f}", f"{c.ci_low:+.3f} – {c.ci_high:+.3f}")
    return table


@connection_options
def leaderboard(ctx: typer.Context, by: By = "model", json_out: JsonOut = False,
                style: Annotated[bool, typer.Option(
                    "--style/--no-style", help="Hold answer length and Markdown equal "
                    "(LMArena's style control); the plain fit is shown beside it.")] = True,
                category: Annotated[str | None, typer.Option(
                    "--category", help="Rank one category's votes alone (e.g. a probe id).")
                ] = None,
                include_flagged: Annotated[bool, typer.Option(
                    "--include-flagged", help="Count votes whose answers named a model or its "
                    "maker (left out by default).")] = False,
                first_vote_only: Annotated[bool, typer.Option(
                    "--first-vote-only", help="Count each voter session's first vote alone "
                    "(LMArena's rule against one eager voter).")] = False):
    """Bradley-Terry standings from all votes, with bootstrap 95% intervals (ties count half)."""
    with handle_errors(ctx.obj), ctx.obj.client() as client:
        board = client.leaderboard(by=by, style=style, category=category,
                                   include_flagged=include_flagged,
                                   first_vote_only=first_vote_only)
    if json_out:
        typer.echo(board.model_dump_json(indent=2))
    elif not board.standings:
        typer.echo("No votes yet: vote on the page, or with Client.vote().")
    else:
        console = Console()
        console.print(leaderboard_table(board))
        if board.style_control:
            console.print(leaderboard_table(board, raw=True))
            console.print(style_table(board))


@votes_app.callback()
def votes():
    """The arena's votes."""


@votes_app.command("export")
@connection_options
def export(ctx: typer.Context, out: Annotated[Path | None, typer.Option(
        "--out", "-o", dir_okay=False, help="Write the JSONL here (default: stdout).")] = None):
    """Every vote as JSONL, oldest first: prompt, answers, order shown, blind, verdict, time."""
    count = 0
    with handle_errors(ctx.obj), ctx.obj.client() as client:
        if out is None:
            for record in client.votes():
                typer.echo(record.model_dump_json())
                count += 1
            return
        partial = out.with_name(out.name + ".partial")  # a failed export leaves no half file
        with partial.open("w", encoding="utf-8") as f:
            for record in client.votes():
                f.write(record.model_dump_json() + "\n")
                count += 1
        partial.replace(out)
    typer.echo(f"{count} votes written to {out}", err=True)
