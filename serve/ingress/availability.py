"""Which roles have a running replica: the ingress's view of its model deployments.

A DeploymentHandle queues a call until a replica takes it, without limit: a role whose replica
died and cannot be placed again (no free GPU) would hold every caller for the role's whole time
budget. `ReplicaWatch` polls Serve's controller about once a second, so that the ingress knows
within seconds that a role has no running replica; calls to such a role are refused at once
(503, code `no_replica`), and calls still waiting for a replica when the role loses its last one
are failed then.

A poll reads only the applications the roles live in (the ingress's own, and with `role_apps`
each role's; one small protobuf each, the call `serve.status()`'s client makes per application);
a role whose application is not deployed is down too. Only when a deployment is in a down
status does a poll read `serve.status()` for the replica counts. `serve.status()` builds and
validates every application's config on each call, in the controller and here, so a
once-a-second poll of it cost an idle ingress real CPU, growing with the number of applications
on the cluster.

"Down" is the controller's view (no replica in RUNNING while Serve is not scaling the deployment
up), never our own health probe: a busy replica that is slow to answer a probe is not down.
A deployment scaled to zero, or being scaled up from zero, is not down either: a call wakes it
and waits for the cold start, as Serve intends.
"""

from __future__ import annotations

import asyncio
import logging
import time
from types import SimpleNamespace
from typing import Callable

from serve.errors import Unavailable

logger = logging.getLogger("ray.serve")

# Statuses in which no running replica means the role cannot answer soon. HEALTHY with none is
# a deployment scaled to zero; UPSCALING and DOWNSCALING are the autoscaler at work.
_DOWN_STATUSES = frozenset({"UPDATING", "UNHEALTHY", "DEPLOY_FAILED"})
# Least time between two polls when requests ask for a fresh view (a down role under load).
_MIN_GAP_S = 0.2


def down_reason(role: str, overview) -> str | None:
    """Why `role` cannot answer, from its deployment's `DeploymentStatusOverview`; None when it
    can (or may soon: scaled to zero, scaling up)."""
    states = {str(getattr(k, "value", k)): n for k, n in overview.replica_states.items() if n}
    status = str(getattr(overview.status, "value", overview.status))
    if states.get("RUNNING", 0) > 0 or status not in _DOWN_STATUSES:
        return None
    shown = ", ".join(f"{n} {s.lower()}" for s, n in sorted(states.items())) or "none"
    return f"the {role} model has no running replica (replicas: {shown}; deployment {status.lower()})"


def _serve_status(apps: set[str]):
    """A view shaped as `serve.status()`'s (`.applications[app].deployments[name]` with
    `.status` and `.replica_states`) of the applications `apps`. Replica counts are read, with
    `serve.status()`, only when some deployment is in a down status; otherwise they are empty,
    which `down_reason` never needs for a status that is not down."""
    from ray import serve
    from ray.serve.context import _get_global_client

    client = _get_global_client()
    applications = {}
    for app in apps:
        overview = client.get_serve_status(app)
        deployments = {}
        for info in overview.deployment_statuses:
            status = str(getattr(info.status, "value", info.status))
            if status in _DOWN_STATUSES:
                return serve.status()
            deployments[info.name] = SimpleNamespace(status=status, replica_states={})
        applications[app] = SimpleNamespace(deployments=deployments)
    return SimpleNamespace(applications=applications)


class ReplicaWatch:
    """The roles' availability, kept fresh by a background task (`start`)."""

    def __init__(self, deployments: dict[str, tuple[str, str]], poll_s: float,
                 status_fn: Callable = _serve_status):
        """`deployments`: role → (application name, deployment name); `status_fn(apps)` gives
        a `serve.status()`-shaped view of those applications (a set of names)."""
        self.deployments = deployments
        self.poll_s = poll_s
        self._status_fn = status_fn
        self._apps = {app for app, _ in deployments.values()}
        self.down: dict[str, str] = {}  # role → reason
        self._lost = {role: asyncio.Event() for role in deployments}
        self._polled_at = float("-inf")  # when the last finished poll started
        self._started_at = float("-inf")
        self._poll: asyncio.Task | None = None
        self._task: asyncio.Task | None = None
        self._failing = False

    def start(self) -> None:
        """Starts polling on the running event loop (idempotent; without a running loop, the
        first `check` starts it)."""
        if self._task is None and self.poll_s > 0:
            try:
                self._task = asyncio.get_running_loop().create_task(self._run())
            except RuntimeError:
                pass

    async def _run(self) -> None:
        while True:
            await self.refresh()
            await asyncio.sleep(self.poll_s)

    async def refresh(self) -> None:
        """Waits for a poll that started from now on. Polls run one at a time and at most every
        0.2 s, however many requests ask."""
        since = time.monotonic()
        while self._polled_at < since:
            if self._poll is None or self._poll.done():
                self._poll = asyncio.get_running_loop().create_task(self._poll_once())
            await asyncio.shield(self._poll)

    async def _poll_once(self) -> None:
        await asyncio.sleep(max(0.0, self._started_at + _MIN_GAP_S - time.monotonic()))
        started = self._started_at = time.monotonic()
        try:
            status = await asyncio.to_thread(self._status_fn, self._apps)
        except Exception as exc:  # the controller is unreachable: keep the last view
            if not self._failing:
                logger.warning("cannot read Serve's status (%s); role availability unchanged", exc)
            self._failing = True
        else:
            self._failing = False
            self._apply(status)
        self._polled_at = started

    def _apply(self, status) -> None:
        for role, (app, name) in self.deployments.items():
            application = status.applications.get(app)
            overview = application.deployments.get(name) if application else None
            if overview is None:  # `role_apps`: the role's application is not deployed
                reason = (f"the {role} model's application {app!r} has no deployment {name!r} "
                          "(not deployed)")
            else:
                reason = down_reason(role, overview)
            self._mark(role, reason)

    def _mark(self, role: str, reason: str | None) -> None:
        was = role in self.down
        if reason is None:
            self.down.pop(role, None)
            if was:
                self._lost[role] = asyncio.Event()
                logger.info("the %s role has a running replica", role)
        else:
            self.down[role] = reason
            if not was:
                self._lost[role].set()  # wakes the calls still waiting for a replica
                logger.warning("%s: its calls fail at once until a replica runs", reason)

    def error(self, role: str) -> Unavailable:
        """The error a call to a down role gets (503 with Retry-After)."""
        reason = self.down.get(role, f"the {role} model has no running replica")
        return Unavailable(f"{reason}; retry later", code="no_replica")

    async def check(self, role: str) -> None:
        """Raises the role's `no_replica` error when it is down. A role seen down is looked at
        again first (a replica may have started since the last poll)."""
        self.start()
        if role in self.down:
            await self.refresh()
            if role in self.down:
                raise self.error(role)

    def lost(self, role: str) -> asyncio.Event:
        """Set when the role, up now, loses its last running replica."""
        return self._lost[role]

