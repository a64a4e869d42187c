"""Safe by default on a network: an ingress that listens beyond loopback with no API key says so
(a WARNING at start and `warnings` in /healthz) unless its config allows it; the reference
graphs name a key source, the demos bind loopback."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from clients.cluster.ray_env import with_ray_env
from serve.config import AppConfig, IngressConfig
from serve.ingress.auth import exposure_warnings, is_loopback

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("host,loopback", [
    ("127.0.0.1", True), ("127.0.1.1", True), ("::1", True), ("[::1]", True), ("localhost", True),
    ("0.0.0.0", False), ("::", False), ("10.0.0.5", False), ("example.com", False), (None, False),
])
def test_is_loopback(host, loopback):
    assert is_loopback(host) is loopback


def test_warnings_only_for_an_open_api_beyond_loopback():
    open_ = IngressConfig()
    assert exposure_warnings(open_, (), "127.0.0.1") == []
    assert exposure_warnings(open_, (b"k",), "0.0.0.0") == []
    assert exposure_warnings(IngressConfig(allow_unauthenticated=True), (), "0.0.0.0") == []
    (warning,) = exposure_warnings(open_, (), "0.0.0.0")
    assert "0.0.0.0" in warning and "TRISERVE_API_KEYS" in warning
    assert "allow_unauthenticated" in warning
    (unknown,) = exposure_warnings(open_, (), None)  # the host unknown: warn all the same
    assert "no API key" in unknown


def serve_config(path: str) -> dict:
    return yaml.safe_load((ROOT / path).read_text())


@pytest.mark.parametrize("path", ["deployments/graph.yaml", "deployments/graph-hf.yaml"])
def test_reference_graphs_take_keys_from_the_environment(path):
    doc = serve_config(path)
    assert not is_loopback(doc["http_options"]["host"])
    for app in doc["applications"]:  # the comparing app and each role's own (`role` named)
        args = {k: v for k, v in app["args"].items() if k != "role"}
        ingress = AppConfig.model_validate(args).ingress
        assert ingress.api_keys_env == "TRISERVE_API_KEYS"
        assert not ingress.allow_unauthenticated


@pytest.mark.parametrize("path", ["deployments/demo.yaml", "deployments/demo-vllm.yaml"])
def test_demos_bind_loopback(path):
    assert is_loopback(serve_config(path)["http_options"]["host"])


# A Serve of its own on 0.0.0.0 (the session's binds 127.0.0.1, and Serve's HTTP options are
# fixed when it starts): three apps, their /healthz, and the ingress logs.
SCRIPT = """
import json, os, sys, time
from pathlib import Path
import httpx, ray
from ray import serve
sys.path.insert(0, "tests")
from apps import scripted_role
from serving import deploy, free_port, wait_ready

port = free_port()
ray.init(address="local", num_cpus=4, include_dashboard=False, log_to_driver=False)
serve.start(http_options={"host": "0.0.0.0", "port": port})
role = {"roles": {"base": scripted_role()}}
apps = {"open": {}, "allowed": {"allow_unauthenticated": True},
        "keyed": {"api_keys_env": "TRISERVE_EXPOSURE_KEYS"}}
out = {}
urls = {name: deploy(name, {**role, "ingress": ingress}, f"http://127.0.0.1:{port}", wait=False)
        for name, ingress in apps.items()}  # side by side
for name, url in urls.items():
    wait_ready(name)
    r = httpx.get(f"{url}/healthz", timeout=30)
    out[name] = {"status": r.status_code, "body": r.json(),
                 "compare": httpx.post(f"{url}/v1/compare", json={"prompt": "hi"},
                                       timeout=30).status_code}
logs = Path(ray._private.worker._global_node.get_session_dir_path()) / "logs" / "serve"
for name in apps:
    out[name]["log"] = [line for path in logs.glob(f"replica_{name}_Ingress_*.log")
                        for line in path.read_text().splitlines() if "SECURITY" in line]
serve.shutdown()
ray.shutdown()
print("RESULT " + json.dumps(out))
"""


@pytest.fixture(scope="module")
def exposed(tmp_path_factory):
    env = {**with_ray_env(), "TRISERVE_EXPOSURE_KEYS": "sk-exposure-test", "PYTHONPATH": str(ROOT)}
    env.pop("TRISERVE_API_KEYS", None)
    done = subprocess.run([sys.executable, "-c", SCRIPT], cwd=ROOT, env=env, text=True,
                          capture_output=True, timeout=300)
    lines = [line for line in done.stdout.splitlines() if line.startswith("RESULT ")]
    assert lines, done.stdout[-3000:] + done.stderr[-3000:]
    return json.loads(lines[-1][len("RESULT "):])


def test_open_api_on_all_interfaces_warns_in_healthz_and_the_log(exposed):
    got = exposed["open"]
    assert got["status"] == 200 and got["body"]["status"] == "ok"  # a warning, not a failure
    (warning,) = got["body"]["warnings"]
    assert "0.0.0.0" in warning and "no API key" in warning
    assert got["log"] and "WARNING" in got["log"][0] and "0.0.0.0" in got["log"][0]
    assert got["compare"] == 200  # still open, as configured


def test_allow_unauthenticated_silences_it(exposed):
    assert exposed["allowed"]["body"]["warnings"] == [] and exposed["allowed"]["log"] == []


def test_a_key_from_the_environment_closes_the_api_and_silences_it(exposed):
    assert exposed["keyed"]["body"]["warnings"] == [] and exposed["keyed"]["log"] == []
    assert exposed["keyed"]["compare"] == 401
