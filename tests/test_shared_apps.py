"""Shared servers (tests/shared_apps.py) stop after the last test that uses them: a small suite
run by pytester, with servers that only record when they start and stop."""

from __future__ import annotations

SHARED_APPS = str(__import__("shared_apps").__file__)


def test_a_shared_server_stops_after_the_last_test_that_uses_its_fixture(pytester):
    pytester.makeconftest(f"""
import importlib.util, pytest
spec = importlib.util.spec_from_file_location("shared_apps", {SHARED_APPS!r})
shared_apps = importlib.util.module_from_spec(spec); spec.loader.exec_module(shared_apps)
EVENTS = []

@pytest.fixture(scope="session")
def shared_servers():
    servers = shared_apps.SharedServers()
    yield servers
    servers.release()

@pytest.fixture(autouse=True)
def _drop(request, shared_servers):
    EVENTS.append("run " + request.node.name)
    yield
    shared_servers.drop_unused(shared_apps.fixtures_still_needed(request.session,
                                                                 request.node.nodeid))

def server(shared_servers, name):
    return shared_servers.get(name, lambda: EVENTS.append("start " + name) or name,
                              lambda s: EVENTS.append("stop " + s), owner=name + "_app")

@pytest.fixture(scope="module")
def a_app(shared_servers):
    return server(shared_servers, "a")

@pytest.fixture
def b_app(shared_servers):
    return server(shared_servers, "b")

@pytest.fixture
def through_b(b_app):
    return b_app

@pytest.fixture(scope="session")
def events():
    return EVENTS
""")
    pytester.makepyfile("""
def test_1(a_app):
    pass

def test_2(a_app, b_app):
    pass

def test_3(through_b):
    pass

def test_4(events):
    assert events == ["start a", "run test_1", "run test_2", "start b", "stop a",
                      "run test_3", "stop b", "run test_4"]
""")
    pytester.runpytest("-p", "no:cacheprovider").assert_outcomes(passed=4)
