"""Errors as one clear line on stderr and exit status 1, never a traceback.

    $ triserve models --url http://127.0.0.1:9
    error: cannot reach the triserve server at http://127.0.0.1:9 (connection refused?). Is it
    running? Point --url or TRISERVE_URL at it.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager

import typer
from rich.console import Console
from rich.text import Text

from clients import errors as api
from clients.cli.options import Settings
from clients.study.probes import ProbeFileError


def message(exc: Exception, settings: Settings) -> str:
    """One line that says what went wrong and what to do about it."""
    server = settings.server
    if isinstance(exc, api.APITimeoutError):
        return (f"no answer from {server} within {settings.timeout:g} s; "
                "raise --timeout or ask for fewer tokens.")
    if isinstance(exc, api.APIConnectionError):
        return (f"cannot reach the triserve server at {server} (connection refused?). "
                "Is it running? Point --url or TRISERVE_URL at it.")
    if isinstance(exc, api.AuthenticationError):
        given = "was refused" if settings.api_key or os.environ.get("TRISERVE_API_KEY") \
            else "is needed and none was given"
        return f"{server} answered 401: an API key {given}. Set --api-key or TRISERVE_API_KEY."
    if isinstance(exc, api.APIStreamError):
        return f"the server failed while answering: {exc.message}"
    if isinstance(exc, api.APIStatusError):
        where = f" (param: {exc.param})" if exc.param else ""
        rid = f" [request {exc.request_id}]" if exc.request_id else ""
        return f"{exc.message}{where}{rid}"
    return str(exc)


@contextmanager
def handle_errors(settings: Settings) -> Iterator[None]:
    """SDK errors (and a bad probes file) inside the block end the command: one line, exit 1."""
    try:
        yield
    except (api.APIError, ProbeFileError) as exc:
        err = Console(stderr=True, highlight=False)
        err.print(Text("error: ", style="bold red") + Text(message(exc, settings)), soft_wrap=True)
        raise typer.Exit(1) from None
