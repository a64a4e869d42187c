"""The `triserve` command line: compare the roles side by side, chat, list models, check health,
run the comparison study, and load-test a server.

    triserve compare "9.11和9.8哪个更大？" --max-new-tokens 256
    triserve compare "Hi" --roles instruct,reasoning --stream
    triserve chat --role reasoning
    triserve models && triserve health
    triserve study --samples 3 --out study-report
    triserve bench --url http://10.0.0.5:8000 --sweep 1,2,4,8
    triserve leaderboard --by role && triserve votes export -o votes.jsonl

The server comes from --url or TRISERVE_URL (default http://127.0.0.1:8000), the key from
--api-key or TRISERVE_API_KEY. The connection options go before or after the command's name.
"""

from __future__ import annotations

from typing import Annotated

import typer

from clients.cli import arena, commands
from clients.cli.bench import bench
from clients.cli.options import (
    API_KEY_HELP,
    DEFAULT_MAX_RETRIES,
    DEFAULT_TIMEOUT_S,
    RETRIES_HELP,
    TIMEOUT_HELP,
    URL_HELP,
    Settings,
)

app = typer.Typer(
    help="Compare a Base, an Instruct and a Reasoning model side by side on a triserve server.",
    no_args_is_help=True, add_completion=False, pretty_exceptions_enable=False,
)


@app.callback()
def main(
    ctx: typer.Context,
    url: Annotated[str | None, typer.Option(
        help=URL_HELP, envvar="TRISERVE_URL", show_envvar=True)] = None,
    api_key: Annotated[str | None, typer.Option(
        help=API_KEY_HELP, envvar="TRISERVE_API_KEY", show_envvar=True,
        show_default=False)] = None,
    timeout: Annotated[float, typer.Option(help=TIMEOUT_HELP)] = DEFAULT_TIMEOUT_S,
    max_retries: Annotated[int, typer.Option(min=0, help=RETRIES_HELP)] = DEFAULT_MAX_RETRIES,
):
    """Compare a Base, an Instruct and a Reasoning model side by side on a triserve server."""
    ctx.obj = Settings(url, api_key, timeout, max_retries)


for command in (commands.compare, commands.chat, commands.models, commands.health,
                commands.study):
    app.command()(command)
app.command("bench")(bench)  # load testing: clients/bench/
app.command("leaderboard")(arena.leaderboard)  # the arena: clients/cli/arena.py
app.add_typer(arena.votes_app, name="votes")

__all__ = ["app"]
