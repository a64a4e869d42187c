"""Shared fixtures: tiny models built on the spot, and one real Ray Serve instance per session."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))  # tiny_models, serving helpers

from clients.cluster.ray_env import settle_haproxy, with_ray_env  # noqa: E402

# Ray Serve's fast paths, as every user gets them (deployments/ray.env), before Ray is imported:
# Ray reads them once per process. HAProxy's own ports are settled again when the session's Ray
# starts (serve_instance), and a test that starts a Ray in a child process gives it
# `with_ray_env()` (ports of its own beside the session's).
os.environ.update(with_ray_env())

from budgets import apply_budgets  # noqa: E402
from serving import deploy, free_port  # noqa: E402
from shared_apps import SharedServers, delete_app, fixtures_still_needed  # noqa: E402
from tiny_models import build_model  # noqa: E402

os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
# Token auth as Ray 2.60 defaults to, said explicitly (the Makefile and scripts do the same).
os.environ.setdefault("RAY_AUTH_MODE", "token")


def pytest_collection_modifyitems(config, items):
    """Test timeouts that cover the fixtures' start budgets (tests/budgets.py); the modules
    marked `big_servers` first, in their own order, while no shared server holds memory (the
    shared ones then start once, after them, rather than again after each); and the tests marked
    `spends_shared` last, after every other user of the server they spend."""
    apply_budgets(config, items)
    items.sort(key=lambda item: (item.get_closest_marker("big_servers") is None,
                                 item.get_closest_marker("spends_shared") is not None))
pytest_plugins = ["pytester"]  # tests/test_budgets.py runs a small suite of its own


@pytest.fixture(scope="session")
def tiny_dirs(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("tiny")
    return {kind: build_model(root / kind, kind) for kind in ("qwen2", "qwen3")}


@pytest.fixture(scope="session")
def both_dir(tmp_path_factory) -> Path:
    """A tiny Qwen3 that both engines run: head_dim 32 (vLLM's CPU attention takes 32 and up)."""
    return build_model(tmp_path_factory.mktemp("tiny-both") / "qwen3", "qwen3", head_dim=32)


@pytest.fixture(scope="session")
def serve_instance():
    """A local Ray (with 3 logical GPUs, as the GPU graph asks) and Serve on a free port."""
    import ray
    from ray import serve

    port = free_port()
    # An API key in the nodes' environment, as a real deployment sets it (tests/server/test_auth):
    # Ray's workers inherit it. (A key in a runtime_env's env_vars would land in Ray's logs.)
    os.environ["TRISERVE_TEST_KEYS"] = "other-key,sk-env-key-never-logged-42"
    os.environ.update(settle_haproxy(dict(os.environ)))  # a child's Ray may hold the ports now
    # address="local": a new instance even when a `ray start` cluster runs on this machine.
    ray.init(address="local", num_cpus=8, num_gpus=3, include_dashboard=False, log_to_driver=False,
             runtime_env={"env_vars": {"TOKENIZERS_PARALLELISM": "false"}})
    serve.start(http_options={"host": "127.0.0.1", "port": port})
    yield f"http://127.0.0.1:{port}"
    serve.shutdown()
    ray.shutdown()


@pytest.fixture(scope="session")
def shared_servers():
    """The servers tests share (tests/shared_apps.py), stopped at the session's end."""
    servers = SharedServers()
    yield servers
    servers.release()


@pytest.fixture(scope="module", autouse=True)
def _room_for_big_servers(request):
    """Before a module marked `big_servers`, every shared server is given back (they run first,
    so this matters only where a selection or plugin reorders the tests)."""
    if request.node.get_closest_marker("big_servers"):
        request.getfixturevalue("shared_servers").release()


@pytest.fixture(autouse=True)
def _spent_shared_server(request, shared_servers):
    """After a test marked `spends_shared(name)`, the shared app `name` is deleted; the test
    does not wait for its replicas to stop (a vLLM replica still starting took 45 s). After
    every test, the shared servers that no test to come asks for are stopped (tests/shared_apps:
    an idle app still costs CPU). A test reaches a shared server through a fixture argument,
    never `request.getfixturevalue`, so that its use is known here."""
    yield
    mark = request.node.get_closest_marker("spends_shared")
    if mark:
        shared_servers.drop(mark.args[0], delete_app(mark.args[0], blocking=False))
    shared_servers.drop_unused(fixtures_still_needed(request.session, request.node.nodeid))


def pytest_configure(config):
    config.addinivalue_line("markers", "big_servers: the module starts servers of its own that "
                            "need the machine's memory; the shared ones are stopped before it")
    config.addinivalue_line("markers", "spends_shared(name): the test leaves the shared server "
                            "`name` unfit for others (it kills its engines and does not wait for "
                            "every replacement); it runs last, and the server is stopped after it")


@pytest.fixture(scope="module")
def tiny_app(request, shared_servers, serve_instance, tiny_dirs) -> str:
    """The three roles on tiny random models (greedy, 16 new tokens by default), at /tiny."""
    from apps import tiny_roles

    return shared_servers.app("tiny", lambda: deploy("tiny", tiny_roles(tiny_dirs), serve_instance),
                              owner=request.fixturename)


@pytest.fixture(scope="module")
def five_app(request, shared_servers, serve_instance, tiny_dirs, tmp_path_factory) -> str:
    """Five roles on tiny models, two of them base and two reasoning (apps.five_roles), at /five,
    with a votes database of its own."""
    from apps import five_roles

    def start():
        votes = {"database_url": f"sqlite:///{tmp_path_factory.mktemp('five-votes')}/votes.db"}
        return deploy("five", {**five_roles(tiny_dirs), "votes": votes}, serve_instance)

    return shared_servers.app("five", start, owner=request.fixturename)


class Records:
    """What the roles of `threads_app` were sent: `records(role)` → its requests, oldest first."""

    def __init__(self, where: Path):
        self.where = where

    def __call__(self, role: str) -> list[dict]:
        import json

        path = self.where / f"{role}.jsonl"
        if not path.exists():
            return []
        return [json.loads(line) for line in path.read_text().splitlines() if line]

    def clear(self) -> None:
        for path in self.where.glob("*.jsonl"):
            path.unlink()


@pytest.fixture(scope="module")
def threads_app(request, shared_servers, serve_instance, tmp_path_factory):
    """Five scripted roles that record what they are sent (apps.thread_roles), at /threads:
    (base URL, `Records`). Tests that read the records clear them first with `records.clear()`."""
    from apps import thread_roles

    def start():
        where = tmp_path_factory.mktemp("records")
        votes = {"database_url": f"sqlite:///{where}/votes.db"}
        url = deploy("threads", {**thread_roles(where), "votes": votes}, serve_instance)
        return url, Records(where)

    return shared_servers.app("threads", start, owner=request.fixturename)


@pytest.fixture(scope="session")
def postgres_url():
    """A real PostgreSQL server for the session's vote tests (tests/postgres.py); skipped, with
    the reason, where it cannot run."""
    from postgres import postgres_server, unavailable

    why = unavailable()
    if why:
        pytest.skip(why)
    with postgres_server() as url:
        yield url
