"""The environment every Ray process of triserve starts with: Ray Serve's fast paths.

Declared once, in `deployments/ray.env` (`KEY=VALUE` lines, `#` comments; the file says what
each flag does and what it costs). Ray reads these when each of its processes starts
(`ray/serve/_private/constants.py`), so they belong in the environment of `serve run` and
`ray start`, not in an application's `runtime_env` (which reaches only its replicas). Read by:
the Makefile (`make demo`), `serve_process.serve_run`, `ray_node` (every `ray start` of the
local cluster), cluster.yaml's start commands (`set -a; . deployments/ray.env`), and copied into
deployments/rayservice.yaml's containers (a test keeps the copies equal).

A value already in the environment wins: `RAY_SERVE_THROUGHPUT_OPTIMIZED=0 make demo` turns
the fast paths off.
"""

from __future__ import annotations

import os
from pathlib import Path

RAY_ENV_FILE = Path(__file__).resolve().parents[2] / "deployments" / "ray.env"


def ray_env(path: Path = RAY_ENV_FILE) -> dict[str, str]:
    """The file's variables, in order. Raises ValueError naming a line that is not
    `KEY=VALUE`, a comment or blank."""
    out = {}
    for n, line in enumerate(Path(path).read_text().splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        key, sep, value = line.partition("=")
        if not sep or not key.isidentifier():
            raise ValueError(f"{path}:{n}: not KEY=VALUE: {line!r}")
        out[key] = value
    return out


def with_ray_env(env: dict[str, str] | None = None) -> dict[str, str]:
    """`env` (default: this process's environment) with the file's variables it does not set."""
    env = dict(os.environ if env is None else env)
    return {**ray_env(), **env}
