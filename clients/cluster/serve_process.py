"""`serve run` of a Serve config in a process of its own, on a free port, stopped by its pid.

The config is copied with its `http_options.port` set to a free one, and served by `serve run`
in a Ray of its own (`RAY_ADDRESS=local`, token auth as everywhere in this project, Ray Serve's
fast paths from deployments/ray.env: clients/cluster/ray_env.py), in a session
of its own: `serve run` ignores SIGINT when not on a terminal, so it is stopped with SIGTERM to its
process group (its Ray lives there too), then SIGKILL; then whatever ran below it and outlived it
(HAProxy, whose parent actor Ray stops around it) gets SIGKILL.

Example::

    with serve_run(ROOT / "deployments/demo.yaml", workdir) as url:
        httpx.post(f"{url}/v1/compare", json={"prompt": "hi"})
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import httpx
import yaml

from clients.cluster.process_tree import descendants, kill_survivors
from clients.cluster.ray_env import free_port, with_ray_env
from clients.cluster.ray_node import PROJECT_ROOT

SERVE_ENV = {"RAY_ADDRESS": "local", "RAY_AUTH_MODE": "token", "TOKENIZERS_PARALLELISM": "false"}


@contextmanager
def serve_run(config: Path, workdir: Path, start_timeout_s: float = 600) -> Iterator[str]:
    """Serves `config` until the block ends; yields its base URL once /healthz answers 200. The
    copy of the config and the server's log (`serve.log`) are kept in `workdir`."""
    port = free_port()
    doc = yaml.safe_load(Path(config).read_text())
    doc.setdefault("http_options", {})["port"] = port
    copy = workdir / Path(config).name
    copy.write_text(yaml.safe_dump(doc, allow_unicode=True))
    log_path = workdir / "serve.log"
    with open(log_path, "w") as log:
        proc = subprocess.Popen([Path(sys.executable).parent / "serve", "run", str(copy)],
                                cwd=PROJECT_ROOT, env={**with_ray_env(), **SERVE_ENV},
                                stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        url = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + start_timeout_s
            while not _healthy(url):
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"{config} did not start:\n" + log_path.read_text()[-3000:])
                time.sleep(2)
            yield url
        finally:
            below = descendants(proc.pid)  # HAProxy outlives its Ray: stopped below
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
            kill_survivors(below)


def _healthy(url: str) -> bool:
    try:
        return httpx.get(f"{url}/healthz", timeout=5).status_code == 200
    except httpx.HTTPError:
        return False
