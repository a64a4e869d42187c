"""benchmarks/path_cpu.py: each process of a server counted in its group, by the titles Ray and
vLLM give their processes, and `--chunk-interval-ms` / `--chunk-intervals` /
`--stream-messages-per-s` reaching a triserve role's config (benchmarks/servers.py)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "benchmarks"))

from path_cpu import OTHER, group  # noqa: E402
from servers import _role_options, chunk_intervals  # noqa: E402


@pytest.mark.parametrize("title, expected", [
    ("ray::ProxyActor", "Ray's proxy"),
    ("ray::ServeReplica:servers-vllm:Ingress", "ingress replica"),
    ("ray::ServeReplica:servers-vllm:Instruct.handle_request_streaming", "model replica"),
    ("VLLM::EngineCore", "vLLM engine core"),
    ("/v/bin/python -m vllm.entrypoints.openai.api_server --model m", "vLLM API server"),
    ("ray::ServeController", f"{OTHER}: ServeController"),
    ("ray::ServeReplica:servers-vllm:VoteStore", f"{OTHER}: VoteStore"),
    ("/v/lib/ray/core/src/ray/raylet/raylet --raylet_socket_name=x", f"{OTHER}: raylet"),
    ("/v/bin/python -u /v/lib/ray/_private/log_monitor.py --logs-dir=x",
     f"{OTHER}: log_monitor.py"),
    ("ray-dashboard-NodeHead-0 (/v/bin/python -B -c ...)", f"{OTHER}: dashboard modules"),
])
def test_a_process_is_counted_in_its_group(title, expected):
    assert group(title) == expected


def test_chunk_interval_reaches_the_role_only_when_given():
    class Args:
        chunk_interval_ms = None

    assert _role_options(Args()) == {}
    Args.chunk_interval_ms = 0.0
    assert _role_options(Args()) == {"chunk_interval_ms": 0.0}
    Args.stream_messages_per_s = 160.0
    assert _role_options(Args()) == {"chunk_interval_ms": 0.0, "stream_messages_per_s": 160.0}


def test_chunk_intervals_are_the_list_or_the_one_value():
    class Args:
        chunk_intervals = "0,20,50"
        chunk_interval_ms = None

    assert chunk_intervals(Args()) == [0.0, 20.0, 50.0]
    Args.chunk_intervals = None
    assert chunk_intervals(Args()) == [None]
    Args.chunk_intervals = "0,fast"
    with pytest.raises(ValueError):
        chunk_intervals(Args())
