"""benchmarks/fast_paths.py's `triserve` variants are what users get: the flags Ray resolves in a
process whose environment holds only deployments/ray.env (a flag written out as Ray's plain
default would turn the throughput-optimized mode's own choice back off, as it once did)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "benchmarks"))

from clients.cluster.ray_env import ray_env  # noqa: E402


def resolved(env: dict[str, str], flags: list[str]) -> dict[str, str]:
    """The flags as Ray 2.60's Serve constants read them, in a fresh process with `env`."""
    names = {"RAY_SERVE_RUN_USER_CODE_IN_SEPARATE_THREAD", "RAY_SERVE_RUN_ROUTER_IN_SEPARATE_LOOP",
             "RAY_SERVE_USE_GRPC_BY_DEFAULT", "RAY_SERVE_ENABLE_DIRECT_INGRESS",
             "RAY_SERVE_ENABLE_HA_PROXY", "RAY_SERVE_LOG_TO_STDERR"}
    code = ("import json, ray.serve._private.constants as c; print(json.dumps({n: str(int(getattr("
            f"c, n))) for n in {sorted(names & set(flags))!r}}}))")
    clean = {k: v for k, v in os.environ.items() if not k.startswith("RAY_SERVE_")}
    out = subprocess.run([sys.executable, "-c", code], env={**clean, **env}, check=True,
                         capture_output=True, text=True, timeout=120).stdout
    return json.loads(out.strip().splitlines()[-1])


def test_the_triserve_variants_resolve_as_a_users_processes_do():
    from fast_paths import FLAGS, VARIANTS

    for name, extra in (("triserve", {}),
                        ("triserve-python-proxy", {"RAY_SERVE_ENABLE_HA_PROXY": "0"})):
        users = resolved({**ray_env(), **extra}, FLAGS)
        written = resolved(VARIANTS[name], FLAGS)
        assert written == users, name
    assert resolved(VARIANTS["triserve"], FLAGS)["RAY_SERVE_ENABLE_DIRECT_INGRESS"] == "1"
    assert resolved(VARIANTS["triserve"], FLAGS)["RAY_SERVE_ENABLE_HA_PROXY"] == "1"
