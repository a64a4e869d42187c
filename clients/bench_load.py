"""Load shapes of `triserve bench`: a closed loop (a fixed number of users, each sending its next
request when the last one ends) and an open loop (Poisson arrivals at a set rate, seeded).

    spec = LoadSpec(mode="closed", level=4, duration_s=30, warmup_s=5)
    run = asyncio.run(run_level(target, core, picker, spec, timeout=600))
    run.outcomes                  # the measured requests (those started after the warm-up)

Requests that start during the warm-up are sent but not measured. The measured window starts when
the warm-up ends; no request starts after it closes (the duration is up, or the request count is
reached), and the run waits for the requests in flight to finish, each bounded by `timeout`.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

import httpx

from clients._core import Core
from clients.bench_prompts import PromptPicker
from clients.bench_targets import Outcome, Target


@dataclass(frozen=True)
class LoadSpec:
    mode: Literal["closed", "open"]
    level: float  # closed: concurrent users; open: requests per second
    duration_s: float | None = 30.0  # ignored when `requests` is set
    requests: int | None = None
    warmup_s: float = 0.0
    max_concurrency: int | None = None  # open loop: most requests in flight (None: no cap)
    seed: int = 0

    def __post_init__(self):
        if self.level <= 0:
            raise ValueError("the load level must be > 0")
        if self.requests is None and not self.duration_s:
            raise ValueError("give a duration or a request count")


@dataclass
class LevelRun:
    spec: LoadSpec
    window_start: float
    outcomes: list[Outcome] = field(default_factory=list)
    warmup_sent: int = 0

    @property
    def wall_s(self) -> float:
        """From the end of the warm-up until the last measured request finished."""
        if not self.outcomes:
            return 0.0
        return max(o.end for o in self.outcomes) - self.window_start


Progress = Callable[[Outcome, bool], None]  # (outcome, measured)


class _Window:
    """Decides, at each launch, whether a request may start and whether it is measured."""

    def __init__(self, spec: LoadSpec, t0: float):
        self.spec = spec
        self.start = t0 + spec.warmup_s
        self.issued = 0

    def admit(self, now: float) -> bool | None:
        """True: start a measured request; False: a warm-up one; None: stop."""
        if now < self.start:
            return False
        if self.spec.requests is not None:
            if self.issued >= self.spec.requests:
                return None
        elif now >= self.start + self.spec.duration_s:
            return None
        self.issued += 1
        return True


async def run_level(target: Target, core: Core, picker: PromptPicker, spec: LoadSpec,
                    timeout: float, progress: Progress | None = None) -> LevelRun:
    """Runs one load level and returns its measured outcomes."""
    limits = httpx.Limits(max_connections=None, max_keepalive_connections=None)
    async with httpx.AsyncClient(timeout=httpx.Timeout(timeout, connect=min(timeout, 10.0)),
                                 limits=limits) as http:
        window = _Window(spec, time.perf_counter())
        run = LevelRun(spec, window.start)

        async def one(measured: bool) -> None:
            outcome = await target.send(http, core, picker.next())
            if measured:
                run.outcomes.append(outcome)
            else:
                run.warmup_sent += 1
            if progress:
                progress(outcome, measured)

        if spec.mode == "closed":
            await _closed(spec, window, one)
        else:
            await _open(spec, window, one)
        return run


async def _closed(spec: LoadSpec, window: _Window, one) -> None:
    async def user() -> None:
        while (measured := window.admit(time.perf_counter())) is not None:
            await one(measured)

    await asyncio.gather(*(user() for _ in range(int(spec.level))))


async def _open(spec: LoadSpec, window: _Window, one) -> None:
    rng = random.Random(spec.seed)
    cap = asyncio.Semaphore(spec.max_concurrency) if spec.max_concurrency else None
    tasks: set[asyncio.Task] = set()
    due = window.start - spec.warmup_s

    async def bounded(measured: bool) -> None:
        try:
            await one(measured)
        finally:
            if cap:
                cap.release()

    while True:
        # Arrival times on an absolute schedule: a slow event loop does not thin the load.
        due += rng.expovariate(spec.level)
        # Judged by the scheduled time, so a seed gives the same arrivals on a slow machine too.
        measured = window.admit(due)
        if measured is None:
            break
        now = time.perf_counter()
        if due > now:
            await asyncio.sleep(due - now)
        if cap:
            await cap.acquire()
        task = asyncio.create_task(bounded(measured))
        tasks.add(task)
        task.add_done_callback(tasks.discard)
    if tasks:
        await asyncio.gather(*tasks)
