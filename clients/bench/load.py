"""Load shapes of `triserve bench`: a closed loop (a fixed number of users, each sending its next
request when the last one ends) and an open loop (Poisson arrivals at a set rate, seeded).

    spec = LoadSpec(mode="closed", level=4, duration_s=30, warmup_s=5)
    run = asyncio.run(run_level(target, core, picker, spec, timeout=600))
    run.outcomes                  # the measured requests (those started after the warm-up)

The warm-up sends the same load for `warmup_s` seconds and waits for all of it to finish; only then
does the measured window start, so that the window holds measured requests only (a warm-up
request still running inside it would do unmeasured work there, and throughput would read low).
No request starts after the window closes (the duration is up, or the request count is reached);
the run waits for the requests in flight, each bounded by `timeout`.
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
from clients.bench.prompts import PromptPicker
from clients.bench.targets import REJECTED, Outcome, Target

MAX_PAUSE_S = 1.0


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
    interrupted: bool = False  # Ctrl-C ended the level: `outcomes` is what finished before it

    @property
    def wall_s(self) -> float:
        """From the start of the measured window until its last request finished."""
        if not self.outcomes:
            return 0.0
        return max(o.end for o in self.outcomes) - self.window_start


Progress = Callable[[Outcome, bool], None]  # (outcome, measured)


class _Phase:
    """Warm-up or measured: whether a request may still start at a given time."""

    def __init__(self, start: float, duration_s: float | None, requests: int | None):
        self.start, self.duration_s, self.requests = start, duration_s, requests
        self.issued = 0

    def admit(self, at: float) -> bool:
        if self.requests is not None:
            ok = self.issued < self.requests
        else:
            ok = at < self.start + self.duration_s
        self.issued += ok
        return ok


async def run_level(target: Target, core: Core, picker: PromptPicker, spec: LoadSpec,
                    timeout: float, progress: Progress | None = None) -> LevelRun:
    """Runs one load level (its warm-up, then the measured window); returns what was measured.
    Cancelled (Ctrl-C under `asyncio.run`), it returns what finished until then, marked
    `interrupted`; requests in flight are dropped, not counted."""
    limits = httpx.Limits(max_connections=None, max_keepalive_connections=None)
    async with httpx.AsyncClient(timeout=httpx.Timeout(timeout, connect=min(timeout, 10.0)),
                                 limits=limits) as http:
        run = LevelRun(spec, 0.0)

        def sender(measured: bool):
            async def one() -> Outcome:
                outcome = await target.send(http, core, picker.next())
                if measured:
                    run.outcomes.append(outcome)
                else:
                    run.warmup_sent += 1
                if progress:
                    progress(outcome, measured)
                return outcome
            return one

        drive = _closed if spec.mode == "closed" else _open
        try:
            if spec.warmup_s > 0:
                await drive(spec, _Phase(time.perf_counter(), spec.warmup_s, None),
                            sender(False), seed=spec.seed + 7919)  # not the measured arrivals
            phase = _Phase(time.perf_counter(), spec.duration_s, spec.requests)
            run.window_start = phase.start
            await drive(spec, phase, sender(True), seed=spec.seed)
        except asyncio.CancelledError:
            run.interrupted = True
        return run


async def _closed(spec: LoadSpec, phase: _Phase, one, seed: int) -> None:
    async def user() -> None:
        while phase.admit(time.perf_counter()):
            pause = _pause(await one())
            if pause:
                await asyncio.sleep(pause)

    await asyncio.gather(*(user() for _ in range(int(spec.level))))


def _pause(outcome: Outcome) -> float:
    """How long a closed-loop user waits before its next request. A refusal (503) or a lost
    connection comes back at once; a user sending again at once would measure how fast the
    server can say no, not how it serves. So it waits as a polite client would: the Retry-After
    asked for (at most MAX_PAUSE_S), else 0.1 s. The refused request is counted, never resent."""
    if outcome.error == REJECTED:
        return min(outcome.retry_after if outcome.retry_after is not None else 0.1, MAX_PAUSE_S)
    return 0.1 if outcome.error == "connection" else 0.0


async def _open(spec: LoadSpec, phase: _Phase, one, seed: int) -> None:
    rng = random.Random(seed)
    cap = asyncio.Semaphore(spec.max_concurrency) if spec.max_concurrency else None
    tasks: set[asyncio.Task] = set()
    due = phase.start

    async def bounded() -> None:
        try:
            await one()
        finally:
            if cap:
                cap.release()

    while True:
        # Arrival times on an absolute schedule: a slow event loop does not thin the load. Judged
        # by the scheduled time, so a seed gives the same arrivals on a slow machine too.
        due += rng.expovariate(spec.level)
        if not phase.admit(due):
            break
        now = time.perf_counter()
        if due > now:
            await asyncio.sleep(due - now)
        if cap:
            await cap.acquire()
        task = asyncio.create_task(bounded())
        tasks.add(task)
        task.add_done_callback(tasks.discard)
    if tasks:
        await asyncio.gather(*tasks)
