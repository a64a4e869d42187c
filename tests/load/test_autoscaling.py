"""Autoscaling under load, seen from Serve's own status: a model deployment goes from 1 running
replica to 2 while HTTP load lasts, and back to 1 after it stops.

The scripted engine makes each request last about 1.5 s, so that a handful of users keep more
requests in flight than `target_ongoing_requests`; the autoscaling timings are cut to fractions
of a second (the production values are in the README's "Autoscaling" section).
"""

from __future__ import annotations

import asyncio
import threading
import time

import httpx
import pytest
from ray import serve
from serving import deploy

from apps import scripted_role

AUTOSCALING = {
    "min_replicas": 1, "max_replicas": 2, "target_ongoing_requests": 1,
    "upscale_delay_s": 0.5, "downscale_delay_s": 2,
    "metrics_interval_s": 0.5, "look_back_period_s": 1,
}
OPTIONS = {"Base": {"autoscaling_config": AUTOSCALING, "max_ongoing_requests": 4}}
SLOW = scripted_role(tokens=[" tick"] * 10, token_s=0.15)  # about 1.5 s a request
CHAT = {"model": "base", "messages": [{"role": "user", "content": "go"}]}


@pytest.fixture(scope="module")
def scaled(serve_instance):
    url = deploy("autoscale", {"roles": {"base": SLOW}}, serve_instance, OPTIONS)
    yield url
    serve.delete("autoscale")


def base_state() -> tuple[str, dict[str, int]]:
    """Serve's view of the Base deployment: its status and its replicas by state."""
    d = serve.status().applications["autoscale"].deployments["Base"]
    return str(d.status.value if hasattr(d.status, "value") else d.status), dict(d.replica_states)


def wait_for(predicate, timeout_s: float, timeline: list) -> bool:
    """Polls Serve's status until `predicate(status, replicas)`; notes each change seen."""
    start = time.monotonic()
    while time.monotonic() - start < timeout_s:
        status, replicas = base_state()
        if not timeline or timeline[-1][1:] != (status, replicas):
            timeline.append((round(time.monotonic() - start, 1), status, replicas))
        if predicate(status, replicas):
            return True
        time.sleep(0.25)
    return False


def running(replicas: dict) -> int:
    return replicas.get("RUNNING", 0)


def settled_at_one(status: str, replicas: dict) -> bool:
    return status == "HEALTHY" and replicas == {"RUNNING": 1}


class Load:
    """`users` clients sending chat requests back to back, on a thread, until stopped."""

    def __init__(self, url: str, users: int):
        self.url, self.users = url, users
        self.statuses: list[int] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=lambda: asyncio.run(self._run()), daemon=True)

    async def _run(self):
        async with httpx.AsyncClient(timeout=60) as http:
            async def user():
                while not self._stop.is_set():
                    r = await http.post(self.url + "/v1/chat/completions", json=CHAT)
                    self.statuses.append(r.status_code)

            await asyncio.gather(*(user() for _ in range(self.users)))

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join(timeout=60)


def test_model_deployment_scales_up_under_load_and_back_down_after(scaled):
    before: list = []
    assert wait_for(settled_at_one, 10, before), before
    up: list = []
    with Load(scaled, users=6) as load:
        scaled_up = wait_for(lambda _, r: running(r) >= 2, 60, up)
    assert scaled_up, f"no second replica under load; (s, status, replicas): {up}"
    assert load.statuses and set(load.statuses) == {200}, set(load.statuses)

    down: list = []
    assert wait_for(settled_at_one, 60, down), f"did not scale back down: {down}"
    print(f"\nup: {up}\ndown: {down}")  # the timelines, for `pytest -s`
