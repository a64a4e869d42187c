"""Ray Serve's fast paths are declared once (deployments/ray.env) and reach every way triserve
starts Ray: the Makefile, serve_run, the local cluster's `ray start`, cluster.yaml's start
commands and the RayService's containers."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
import yaml

import ray.serve._private.constants as serve_constants
from clients.cluster.ray_env import RAY_ENV_FILE, ray_env, with_ray_env
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
