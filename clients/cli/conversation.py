"""`triserve chat` side by side: a conversation with several roles at once, each role keeping
its own thread (clients/conversation.py), every turn shown as one column per role.

    you › Name a prime number.
    ╭── base ──────┬── instruct ──┬── reasoning ──╮ …
    you › /regen instruct          # the last turn again for instruct, with a new seed
    you › /vote reasoning          # or /vote tie, /vote bad
"""

from __future__ import annotations

from rich.console import Console
from rich.text import Text

from clients import errors as api
from clients.cli import render
from clients.client import Client
from clients.conversation import Conversation
from serve.api.protocol import GenerationParams

HELP = "/regen [ROLE] · /vote ROLE|tie|bad · /exit"


def side_by_side(console: Console, client: Client, roles: list[str] | None, prompt: str | None,
                 system: str | None, params: GenerationParams, show_thinking: bool) -> None:
    """Reads turns (and commands) until /exit or end of input; with `prompt`, one turn only.
    A failed call prints its error and the chat goes on; the turn is then not kept."""
    chat = Conversation(client, roles, system=system, params=params)
    if prompt is not None:
        _turn(console, chat, lambda: chat.send(prompt), show_thinking)
        return
    console.print(Text(HELP, style="dim"))
    while True:
        try:
            text = console.input("[bold green]you[/] › ").strip()
        except EOFError:
            console.print()
            return
        if text in ("/exit", "/quit"):
            return
        if not text:
            continue
        word, _, rest = text.partition(" ")
        if word == "/regen":
            _turn(console, chat, lambda: chat.regenerate(rest.strip() or None), show_thinking)
        elif word == "/vote":
            _vote(console, chat, rest.strip())
        elif word.startswith("/"):
            console.print(Text(f"unknown command {word}; {HELP}", style="yellow"))
        else:
            _turn(console, chat, lambda: chat.send(text), show_thinking)


def _turn(console: Console, chat: Conversation, call, show_thinking: bool) -> None:
    try:
        call()
    except (api.APIError, ValueError) as exc:
        console.print(Text(f"error: {getattr(exc, 'message', None) or exc}", style="bold red"))
        return
    turn = chat.turns[-1]
    console.print(Text(f"turn {len(chat.turns)}", style="dim"))
    views = [render.RoleView.of(r) for r in turn.answers.values()]
    console.print(render.compare_table(views, show_thinking))


def _vote(console: Console, chat: Conversation, choice: str) -> None:
    verdicts = {"tie": ("tie", None), "bad": ("all_bad", None)}
    verdict, winner = verdicts.get(choice, ("winner", choice))
    try:
        ack = chat.vote(verdict, winner=winner)
    except (api.APIError, ValueError) as exc:
        console.print(Text(f"vote not saved: {getattr(exc, 'message', None) or exc}",
                           style="bold red"))
        return
    what = "changed" if ack.replaced else "saved"
    console.print(Text(f"vote {what} (turn {len(chat.turns)}, vote {ack.id})", style="green"))


def battle_and_vote(console: Console, client: Client, prompt: str, k: int, system: str | None,
                    params: GenerationParams, show_thinking: bool) -> None:
    """`triserve compare --battle K`: the answers under their letters, then a vote (a letter,
    tie, bad, or an empty line to leave it) whose answer reveals whose they were."""
    result = client.compare(prompt, system=system, params=params, battle=k)
    console.print(render.compare_table(render.views(result), show_thinking))
    letters = [r.role for r in result.results if r.error is None]
    try:
        choice = console.input(f"vote ({', '.join(letters)}, tie, bad; Enter: none) › ").strip()
    except EOFError:
        choice = ""
    if not choice:
        console.print(Text("no vote: the names stay hidden", style="dim"))
        return
    verdict, winner = {"tie": ("tie", None), "bad": ("all_bad", None)}.get(
        choice.lower(), ("winner", choice.upper()))
    try:
        ack = client.vote(result, verdict, winner=winner, prompt=prompt, system=system,
                          params=params, blind=True)
    except (api.APIError, ValueError) as exc:
        console.print(Text(f"vote not saved: {getattr(exc, 'message', None) or exc}",
                           style="bold red"))
        return
    for letter, who in (ack.revealed or {}).items():
        console.print(Text(f"{letter} was {who['role']} ({who['model']})", style="green"))
