"""Fixtures for the SDK and CLI tests: a scripted real HTTP server, a faulty Serve app, and a way
to see whether an httpx client still holds a connection that is in use."""

from __future__ import annotations

import pytest
from scripted_http import ScriptedServer


@pytest.fixture
def scripted():
    server = ScriptedServer()
    yield server
    server.close()


def _busy_connections(client) -> int:
    """Connections of an SDK client's httpx pool that are open and not idle (a leak if > 0)."""
    pool = client._http._transport._pool  # httpx → httpcore ConnectionPool; no public accessor
    return sum(1 for c in pool.connections if not c.is_idle() and not c.is_closed())


@pytest.fixture
def busy_connections():
    return _busy_connections


FAULTY_KEY = "sk-clients-test"


@pytest.fixture(scope="module")
def faulty_app(request, shared_servers, serve_instance, tmp_path_factory) -> str:
    """Scripted roles behind the API key FAULTY_KEY: `instruct` fails inside its stream;
    `reasoning` streams slowly."""
    from apps import scripted_role
    from serving import deploy

    keys = tmp_path_factory.mktemp("keys") / "keys.txt"
    keys.write_text(f"# the test key\n{FAULTY_KEY}\n")
    args = {"roles": {
        "instruct": scripted_role(fail_with="engine exploded"),
        "reasoning": scripted_role(tokens=["tick "] * 200, token_s=0.02),
    }, "ingress": {"api_keys_env": None, "api_keys_file": str(keys)}}
    return shared_servers.app("sdk_faults", lambda: deploy("sdk_faults", args, serve_instance),
                              owner=request.fixturename)
