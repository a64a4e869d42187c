"""benchmarks/servers.py: each server's engine threads (`--engine-threads`, `--threads-of`)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "benchmarks"))

from servers import add_server_options, engine_threads  # noqa: E402


def parsed(*argv: str) -> argparse.Namespace:
    ap = argparse.ArgumentParser()
    add_server_options(ap)
    return ap.parse_args(list(argv))


def test_a_server_named_in_threads_of_gets_its_own_the_others_engine_threads():
    args = parsed("--engine-threads", "2", "--threads-of", "triserve-hf=1",
                  "--threads-of", "bare-vllm=3")
    assert engine_threads("triserve-hf", args) == 1
    assert engine_threads("bare-vllm", args) == 3
    assert engine_threads("transformers-serve", args) == 2


@pytest.mark.parametrize("bad", ["triserve-hf", "triserve-hf=", "triserve-hf=0", "triserve-hf=x"])
def test_a_malformed_threads_of_is_refused(bad):
    with pytest.raises(ValueError, match="SERVER=N"):
        engine_threads("transformers-serve", parsed("--threads-of", bad))
