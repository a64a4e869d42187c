"""Servers the tests share, started on first use and given back before a module that needs the
machine's memory for servers of its own.

A shared app (the tiny three roles, the five roles, the vLLM roles, the engines driven in the
test process) takes 0.3–3 GiB while it runs. Kept for the whole session, they sat beside the
demos' own Ray clusters (tests/e2e: about 14 GiB for the vLLM demo) and the multi-node tests,
and on a 24 GiB machine Ray's memory monitor then killed workers (the Serve controller among
them), failing unrelated tests and slowing the rest. So a module marked `big_servers` (conftest
registers the marker) first gives every shared server back; the next test that asks for one
starts it again.

Idle, a shared app still costs CPU: its replicas' health checks and metrics, and the Serve
controller's loop over them (three idle apps, 19 replicas: 38% of a core on the 2-core CI
machine). So a server started for a fixture (`owner`) is stopped after the last test that uses
that fixture (`drop_unused`, called by conftest after each test).
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
        self._owners: dict[str, str] = {}  # server name → the fixture that asked for it

    def get(self, name: str, start: Callable[[], Any], stop: Callable[[Any], None],
            owner: str | None = None) -> Any:
        """The server `name`, started with `start()` unless it runs; `stop(server)` gives it
        back at `release`, at the session's end, or, where `owner` names the fixture that asks
        for it, after the last test that uses that fixture (`drop_unused`)."""
        if name not in self._live:
            self._live[name] = (start(), stop)
            if owner:
                self._owners[name] = owner
        return self._live[name][0]

    def app(self, name: str, deploy: Callable[[], str], owner: str | None = None) -> str:
        """The base URL of the app `name` in the session's Serve, deployed with `deploy()`
        unless it runs; `release` deletes it, and `drop_unused` too (without waiting for its
        replicas to stop) once no test to come uses `owner`."""
        return self.get(name, deploy, delete_app(name), owner)

    def drop_unused(self, needed: set[str]) -> None:
        """Stops every server whose owner fixture is not in `needed` (the fixtures of the tests
        still to run); apps are deleted without waiting for their replicas."""
        for name, owner in list(self._owners.items()):
            if owner not in needed:
                self.drop(name, getattr(self._live[name][1], "fast", None))

    def drop(self, name: str, stop: Callable[[Any], None] | None = None) -> None:
        """Stops the server `name` if it runs (a test left it unfit for the next ones), with
        `stop` where given instead of its own; the next test that asks for it starts it again."""
        if name in self._live:
            server, own_stop = self._live.pop(name)
            self._owners.pop(name, None)
            (stop or own_stop)(server)

    def release(self) -> None:
        """Stops every server, newest first. A stop that fails is logged, and the rest go on."""
        for name in reversed(list(self._live)):
            server, stop = self._live.pop(name)
            try:
                stop(server)
            except Exception:  # noqa: BLE001 - one failed stop must not keep the others
                logger.exception("stopping the shared server %s failed", name)


class _DeleteApp:
    """A `stop` for an app in the session's Serve; `fast` is the same without the wait."""

    def __init__(self, name: str, blocking: bool):
        self.name = name
        self.blocking = blocking

    def __call__(self, _url) -> None:
        import ray
        from ray import serve

        if not ray.is_initialized():  # Serve went down with the session's Ray: nothing to delete
            return                    # (and serve.delete would start a new Ray to find none)
        serve.delete(self.name, _blocking=self.blocking)

    def fast(self, url) -> None:
        _DeleteApp(self.name, blocking=False)(url)


def delete_app(name: str, blocking: bool = True) -> Callable[[Any], None]:
    """A `stop` for an app deployed into the session's Serve under `name`; with `blocking`
    False, it returns once Serve has been told, and the replicas stop in the background."""
    return _DeleteApp(name, blocking)


_LATER_KEY = "triserve_fixtures_of_later_tests"


def fixtures_still_needed(session, nodeid: str) -> set[str]:
    """The fixtures (their closures included) of the tests of `session` that run after the test
    `nodeid`, worked out once per session from `session.items` (the final order)."""
    later = getattr(session, _LATER_KEY, None)
    if later is None:
        later, needed = {}, set()
        for item in reversed(session.items):
            later[item.nodeid] = set(needed)
            needed |= set(getattr(item, "fixturenames", ()))
        setattr(session, _LATER_KEY, later)
    return later.get(nodeid, set())
