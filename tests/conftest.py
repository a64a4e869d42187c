"""Shared fixtures: tiny models built on the spot, and one real Ray Serve instance per session."""

from __future__ import annotations

import os
import socket
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))  # tiny_models, serving helpers

from tiny_models import build_model  # noqa: E402

os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
# Token auth as Ray 2.60 defaults to, said explicitly (the Makefile and scripts do the same).
os.environ.setdefault("RAY_AUTH_MODE", "token")


@pytest.fixture(scope="session")
def tiny_dirs(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("tiny")
    return {kind: build_model(root / kind, kind) for kind in ("qwen2", "qwen3")}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def serve_instance():
    """A local Ray (with 3 logical GPUs, as the GPU graph asks) and Serve on a free port."""
    import ray
    from ray import serve

    port = free_port()
    ray.init(num_cpus=8, num_gpus=3, include_dashboard=False, log_to_driver=False,
             runtime_env={"env_vars": {"TOKENIZERS_PARALLELISM": "false"}})
    serve.start(http_options={"host": "127.0.0.1", "port": port})
    yield f"http://127.0.0.1:{port}"
    serve.shutdown()
    ray.shutdown()
