"""Engines driven directly (no Serve): each runs on an event loop in a thread of its own, as in a
replica, and tests call into it with `EngineDriver.run`. The vLLM engine is built once per
session (its start takes about 20 s on CPU) on a tiny random Qwen3 that both engines can run
(`both_dir`, tests/conftest.py)."""

from __future__ import annotations

import asyncio
import threading

import pytest

from serve.config import RoleConfig
from apps import VLLM_TEST
from budgets import VLLM_START_S, start_budget
from serve.engines import build_engine

ENGINES = ["hf", "vllm"]
# The hf engine on the tiny model starts in a second; the budget is vLLM's.
DRIVERS_START_S = start_budget("drivers", VLLM_START_S)


def role_config(path, engine: str, **extra) -> RoleConfig:
    """A reasoning role on the tiny model, greedy, 24 new tokens by default."""
    cfg = {
        "model": {"source": "local", "path": str(path)},
        "engine": engine,
        "reasoning": True,
        "defaults": {"max_new_tokens": 24, "temperature": 0.0},
        "max_new_tokens_cap": 256,
        "max_input_tokens": 1024,
        "torch_threads": 1,
        "vllm": VLLM_TEST,
        **extra,
    }
    return RoleConfig.model_validate(cfg)


class EngineDriver:
    """An engine on its own event loop thread; `run(coro_fn)` runs `coro_fn(engine)` there."""

    def __init__(self, config: RoleConfig):
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.engine = build_engine(config)
        self.run(lambda e: e.start(), timeout=DRIVERS_START_S)
        self.run(lambda e: e.warm_up())

    def run(self, fn, timeout: float = 120):
        return asyncio.run_coroutine_threadsafe(fn(self.engine), self.loop).result(timeout)

    def close(self) -> None:
        self.engine.shutdown()
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)


@pytest.fixture(scope="module")
def drivers(request, shared_servers, both_dir):
    """engine kind → its `EngineDriver`, started on first use (a shared server:
    tests/shared_apps.py)."""

    def get(kind: str) -> EngineDriver:
        return shared_servers.get(f"driver-{kind}",
                                  lambda: EngineDriver(role_config(both_dir, kind)),
                                  EngineDriver.close, owner=request.fixturename)

    return get


@pytest.fixture(params=ENGINES)
def driver(request, drivers) -> EngineDriver:
    return drivers(request.param)
