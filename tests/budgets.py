"""Start budgets of the fixtures that start servers or engines, and the test timeouts derived
from them.

pytest-timeout's limit (`timeout` in pyproject.toml) covers a test's fixture setup too, so the
first test that uses a session fixture pays for starting it. A fixture that starts something
slow takes its wait from `start_budget("<fixture name>", seconds)`, and `tests/conftest.py` gives
every test that uses that fixture (directly or through another) that many seconds more: the test's
limit can never be shorter than what its fixtures allow themselves, whatever the CPU.
"""

from __future__ import annotations

# What a vLLM engine on the tiny test model may take to start, warm-up included. Measured
# 20–60 s on AVX-512 machines; slower CPUs (AVX2 only) and a busy suite take several times that.
VLLM_START_S = 300.0

START_BUDGET_S: dict[str, float] = {}


def start_budget(fixture: str, seconds: float) -> float:
    """Declares that fixture `fixture` may spend `seconds` starting (and stopping) what it
    serves; returns `seconds`, for the fixture's own wait. Raises ValueError when a fixture of
    that name declared another budget (two fixtures of one name would share one entry)."""
    if START_BUDGET_S.setdefault(fixture, seconds) != seconds:
        raise ValueError(f"fixture {fixture!r} declared two start budgets")
    return seconds


def extra_timeout_s(fixturenames: list[str]) -> float:
    """The seconds a test's own limit grows by: the sum of its fixtures' start budgets (each
    may be the one to start first)."""
    return sum(START_BUDGET_S.get(name, 0.0) for name in fixturenames)


def apply_budgets(config, items) -> None:
    """`pytest_collection_modifyitems`: each test's timeout grows by the start budgets of the
    fixtures it uses, on top of its own `timeout` mark or the suite's default."""
    import pytest

    default = float(config.getini("timeout") or 0)
    for item in items:
        extra = extra_timeout_s(item.fixturenames)
        if not extra:
            continue
        mark = item.get_closest_marker("timeout")
        base = float(mark.args[0]) if mark and mark.args else default
        item.add_marker(pytest.mark.timeout(base + extra), append=False)
