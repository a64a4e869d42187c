"""benchmarks/servers.py: the order each run measures its servers in (`--rotate`)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "benchmarks"))

from servers import run_order  # noqa: E402

THREE = ["bare-vllm", "triserve-vllm", "ray-serve-llm"]


def test_without_rotate_every_run_measures_the_servers_as_listed():
    assert [run_order(THREE, run, False) for run in (1, 2, 3)] == [THREE] * 3


def test_rotate_starts_each_run_one_server_later_and_wraps_round():
    assert [run_order(THREE, run, True) for run in (1, 2, 3, 4)] == [
        THREE,
        ["triserve-vllm", "ray-serve-llm", "bare-vllm"],
        ["ray-serve-llm", "bare-vllm", "triserve-vllm"],
        THREE,
    ]
    # Over as many runs as servers, each server is first once and last once.
    orders = [run_order(THREE, run, True) for run in (1, 2, 3)]
    assert sorted(o[0] for o in orders) == sorted(THREE)
    assert sorted(o[-1] for o in orders) == sorted(THREE)


def test_two_servers_alternate():
    two = ["bare-vllm", "triserve-vllm"]
    assert run_order(two, 2, True) == ["triserve-vllm", "bare-vllm"]
    assert run_order(two, 3, True) == two


def test_a_run_below_one_is_refused():
    with pytest.raises(ValueError, match="counted from 1"):
        run_order(THREE, 0, True)
