"""Helpers for tests that serve: free ports, and deploying an app into the session's Serve.

A plain module, not conftest.py: test files import these by name, and a conftest.py in a
subfolder would shadow the top one under `import conftest`.
"""

from __future__ import annotations

from clients.cluster.ray_node import free_port  # noqa: F401  (tests import it from here)


def deploy(name: str, args: dict, base_url: str, options: dict | None = None,
           timeout_s: float = 180.0, wait: bool = True) -> str:
    """Deploys an app (`serve.app.build_graph`, with optional per-deployment options) at /<name>
    and waits up to `timeout_s` for it to run (`wait` False: returns at once, and the caller
    waits with `wait_ready`, so that apps start side by side); returns its base URL. A fixture
    that passes more than the default declares it with `budgets.start_budget`. An app whose args
    name no `votes.database_url` gets a fresh SQLite file in a temporary folder, never the votes
    of the user's ~/.triserve."""
    from ray import serve

    from serve.app import build_graph
    from serve.config import AppConfig

    config = AppConfig.model_validate(_own_votes(name, args))
    # Test replicas idle most of the time: a tenth of a logical CPU each, so that the apps the
    # session deploys side by side all fit on its Ray (a replica asks for 1 CPU by default).
    names = [config.deployment_name(role) for role in config.roles] + ["Ingress"]
    given = options or {}
    options = {name: {"ray_actor_options": {"num_cpus": 0.1}, **given.get(name, {})}
               for name in {*names, *given}}
    app = build_graph(config, options)
    serve.run(app, name=name, route_prefix=f"/{name}", blocking=False)
    if wait:
        wait_ready(name, timeout_s)
    return f"{base_url}/{name}"


def _own_votes(name: str, args: dict) -> dict:
    """`args` with a fresh SQLite votes file in a temporary folder unless they name a database:
    never the votes of the user's ~/.triserve."""
    votes = args.get("votes", {})
    if "database_url" in votes or "database_url_env" in votes:
        return args
    import tempfile

    where = tempfile.mkdtemp(prefix=f"triserve-{name}-votes-")
    return {**args, "votes": {**votes, "database_url": f"sqlite:///{where}/votes.db"}}


def deploy_role_apps(name: str, args: dict, base_url: str,
                     timeout_s: float = 180.0) -> tuple[str, dict[str, str]]:
    """The graph with `role_apps`: each role an application of its own (`serve.app:build_role`,
    named `<name>-<role>`, at /<name>-<role>) and the comparing app at /<name>, every replica a
    tenth of a CPU; waits up to `timeout_s` for all of them. Returns the comparing app's base URL
    and role → its own endpoint's base URL. `delete_role_apps(name, roles)` removes them."""
    from ray import serve

    from serve.app import build_graph, build_role_app
    from serve.config import AppConfig

    args = {**_own_votes(name, args), "role_apps": True, "role_app_prefix": f"{name}-"}
    config = AppConfig.model_validate(args)
    small = {"ray_actor_options": {"num_cpus": 0.1}}
    urls = {}
    for role in config.roles:
        app = config.role_app(role)
        serve.run(build_role_app(config, role, small), name=app, route_prefix=f"/{app}",
                  blocking=False)
        urls[role] = f"{base_url}/{app}"
    serve.run(build_graph(config, {"Ingress": small, "VoteStore": small}), name=name,
              route_prefix=f"/{name}", blocking=False)
    for app in (name, *(config.role_app(role) for role in config.roles)):
        wait_ready(app, timeout_s)
    return f"{base_url}/{name}", urls


def delete_role_apps(name: str, roles) -> None:
    """Deletes what `deploy_role_apps(name, ...)` deployed."""
    from ray import serve

    for app in (name, *(f"{name}-{role}" for role in roles)):
        serve.delete(app)


def wait_ready(name: str, timeout_s: float = 180.0) -> None:
    """Waits up to `timeout_s` for the app `name` to run. Raises RuntimeError if it failed to
    deploy, TimeoutError if it is not running in time."""
    import time

    from ray import serve
    from ray.serve.schema import ApplicationStatus

    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        app = serve.status().applications.get(name)
        if app is not None and app.status == ApplicationStatus.RUNNING:
            return
        if app is not None and app.status == ApplicationStatus.DEPLOY_FAILED:
            raise RuntimeError(f"app {name} failed to deploy: {app.message}")
        time.sleep(0.25)
    raise TimeoutError(f"app {name} not running after {timeout_s} s")


def driver_handle(deployment: str, app_name: str):
    """A DeploymentHandle for this (synchronous) test process: `handle.method.remote().result()`.

    Under Ray Serve's throughput-optimized mode (deployments/ray.env) a handle's router runs on
    the caller's event loop, and a caller with none gets "No event loop running"; a script that
    calls handles outside asyncio asks for the router's own loop, as here (`_init` is the
    handle's documented way to set init options before its first call)."""
    from ray import serve

    handle = serve.get_deployment_handle(deployment, app_name=app_name)
    handle._init(_run_router_in_separate_loop=True)
    return handle


def abort_mid_stream(handle, url: str, headers: dict | None = None,
                     timeout_s: float = 30.0) -> tuple[dict, dict]:
    """Streams a 250-token completion of `instruct` from `url` (the base URL of its /v1), leaves
    after three frames, and waits up to `timeout_s` until the role's replica (`handle`) counts it
    cancelled with nothing left in its engine. Returns the replica's `stats` before and after."""
    import time

    import httpx

    before = handle.stats.remote().result()
    body = {"model": "instruct", "prompt": "hello", "max_tokens": 250, "stream": True}
    with httpx.stream("POST", f"{url}/v1/completions", json=body, timeout=60,
                      headers=headers or {}) as r:
        frames = 0
        for line in r.iter_lines():
            frames += line.startswith("data: ")
            if frames >= 3:
                break  # leave mid-stream
    deadline = time.monotonic() + timeout_s
    while True:
        now = handle.stats.remote().result()
        if (now["cancelled"] > before["cancelled"] and now["engine_running"] == 0) or (
                time.monotonic() > deadline):
            return before, now
        time.sleep(0.2)
