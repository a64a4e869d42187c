"""Servers the tests share, started on first use and given back before a module that needs the
machine's memory for servers of its own.

A shared app (the tiny three roles, the five roles, the vLLM roles, the engines driven in the
test process) takes 0.3–3 GiB while it runs. Kept for the whole session, they sat beside the
demos' own Ray clusters (tests/e2e: about 14 GiB for the vLLM demo) and the multi-node tests,
and on a 24 GiB machine Ray's memory monitor then killed workers (the Serve controller among
them), failing unrelated tests and slowing the rest. So a module marked `big_servers` (conftest
registers the marker) first gives every shared server back; the next test that asks for one
starts it again.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

logger = logging.getLogger(__name__)


class SharedServers:
    """Name → a started server (any value), each with the function that stops it."""

    def __init__(self):
        self._live: dict[str, tuple[Any, Callable[[Any], None]]] = {}

    def get(self, name: str, start: Callable[[], Any], stop: Callable[[Any], None]) -> Any:
        """The server `name`, started with `start()` unless it runs; `stop(server)` gives it
        back at `release` or at the session's end."""
        if name not in self._live:
            self._live[name] = (start(), stop)
        return self._live[name][0]

    def app(self, name: str, deploy: Callable[[], str]) -> str:
        """The base URL of the app `name` in the session's Serve, deployed with `deploy()`
        unless it runs; `release` deletes it."""
        return self.get(name, deploy, delete_app(name))

    def drop(self, name: str, stop: Callable[[Any], None] | None = None) -> None:
        """Stops the server `name` if it runs (a test left it unfit for the next ones), with
        `stop` where given instead of its own; the next test that asks for it starts it again."""
        if name in self._live:
            server, own_stop = self._live.pop(name)
            (stop or own_stop)(server)

    def release(self) -> None:
        """Stops every server, newest first. A stop that fails is logged, and the rest go on."""
        for name in reversed(list(self._live)):
            server, stop = self._live.pop(name)
            try:
                stop(server)
            except Exception:  # noqa: BLE001 - one failed stop must not keep the others
                logger.exception("stopping the shared server %s failed", name)


def delete_app(name: str, blocking: bool = True) -> Callable[[Any], None]:
    """A `stop` for an app deployed into the session's Serve under `name`; with `blocking`
    False, it returns once Serve has been told, and the replicas stop in the background."""

    def stop(_url) -> None:
        from ray import serve

        serve.delete(name, _blocking=blocking)

    return stop
