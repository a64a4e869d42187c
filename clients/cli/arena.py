"""The arena's commands: the leaderboard made from the votes, and the votes themselves.

    triserve leaderboard                  # models, best first, Elo points with 95% intervals
    triserve leaderboard --by role --json
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


def leaderboard_table(board: Leaderboard) -> Table:
    """The standings as a rich table (Elo points; the interval is the bootstrap 95% one)."""
    table = Table(title=f"Leaderboard by {board.by}: {board.votes} votes, {board.comparisons} "
                        f"pairwise outcomes, {board.bootstrap_samples} bootstrap samples",
                  title_justify="left")
    for name, justify in (("rank", "right"), (board.by, "left"), ("Elo", "right"),
                          ("95% interval", "right"), ("wins", "right"), ("losses", "right"),
                          ("ties", "right")):
        table.add_column(name, justify=justify)
    for s in board.standings:
        interval = f"{s.ci_low:.0f} – {s.ci_high:.0f}"
        table.add_row(str(s.rank), s.name, f"{s.strength:.0f}", interval, str(s.wins),
                      str(s.losses), str(s.ties))
    return table


@connection_options
def leaderboard(ctx: typer.Context, by: By = "model", json_out: JsonOut = False):
    """Bradley-Terry standings from all votes, with bootstrap 95% intervals (ties count half)."""
    with handle_errors(ctx.obj), ctx.obj.client() as client:
        board = client.leaderboard(by=by)
    if json_out:
        typer.echo(board.model_dump_json(indent=2))
    elif not board.standings:
        typer.echo("No votes yet: vote on the page, or with Client.vote().")
    else:
        Console().print(leaderboard_table(board))


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
