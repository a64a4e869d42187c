"""The application builder that Serve config files name: `import_path: serve.app:build_app`.

Example (what `deployments/demo.yaml` does)::

    from ray import serve
    from serve.app import build_app
    serve.run(build_app({"roles": {"instruct": {"model": {"source": "local", "path": "/models/x"}}}}))

The `args:` are validated by `serve.config.AppConfig` here, when the app is built: a bad config
fails `serve run` / `serve deploy` with a message naming the field. `serve.app:build_role` builds
one role's own application (`role_apps`: its replica answers that role's OpenAI routes).
"""

from __future__ import annotations

from ray.serve import Application

from serve.config import CHECK_ENGINE_ARGS, AppConfig
from serve.ingress.deployment import Ingress
from serve.replica.deployment import ModelServer
from serve.replica.endpoint import RoleEndpoint
from serve.votes.store import VoteStore, store_options


def build_app(args: dict) -> Application:
    """The graph from a Serve config file's `args:`; raises pydantic's `ValidationError`, naming
    the field, for a bad config (vLLM engine argument names included)."""
    return build_graph(AppConfig.model_validate(args, context={CHECK_ENGINE_ARGS: True}))


def build_role(args: dict) -> Application:
    """One role as an application of its own (`role_apps: true`): the comparing app's `args:`
    with `role:` added, the role's replica its ingress (serve/replica/endpoint.py). Raises
    pydantic's `ValidationError` for a bad config, and `ValueError` for a `role` not in `roles`.

        - name: instruct                     # named as the role (`role_app_prefix` + role)
          route_prefix: /roles/instruct
          import_path: serve.app:build_role
          args: {<<: *graph, role: instruct} # YAML's merge key: the graph's args, one role
    """
    args = dict(args)
    role = args.pop("role", None)
    return build_role_app(AppConfig.model_validate(args, context={CHECK_ENGINE_ARGS: True}), role)


def build_role_app(config: AppConfig, role: str, options: dict | None = None) -> Application:
    """`role`'s own application from a validated config: its replica (`RoleEndpoint`, the
    deployment named as in the graph) as the ingress; `options`: `Deployment.options(...)`
    keyword arguments for it. Raises `ValueError` for a `role` not in `config.roles`."""
    if role not in config.roles:
        raise ValueError(f"role: {role!r} is not one of roles ({', '.join(config.roles)})")
    endpoint = RoleEndpoint.options(name=config.deployment_name(role), **(options or {}))
    return endpoint.bind(role, config.roles[role].model_dump(), config.ingress.model_dump())


def build_graph(config: AppConfig, options: dict[str, dict] | None = None) -> Application:
    """The graph from a validated config: a deployment per role (with `role_apps`, the
    (application, deployment) names of the roles' own applications instead), the `VoteStore`
    (unless `votes.enabled` is false; a tenth of a CPU, on the head node for a SQLite file:
    `serve.votes.store.store_options`) and the Ingress over them. `options` maps a deployment
    name (Base, ..., VoteStore, Ingress) to `Deployment.options(...)` keyword arguments, for
    Python users who set in code what a Serve config file's `deployments:` section sets::

        build_graph(config, {"Base": {"max_ongoing_requests": 4, "max_queued_requests": 8}})
    """
    options = options or {}
    models = {}
    for role, rc in config.roles.items():
        name = config.deployment_name(role)
        if config.role_apps:  # the role is an application of its own (`build_role`)
            models[role] = (config.role_app(role), name)
            continue
        deployment = ModelServer.options(name=name, **options.get(name, {}))
        models[role] = deployment.bind(role, rc.model_dump())
    store = None
    if config.votes.enabled:
        url, env = config.votes.database_url, config.votes.database_url_env
        # A URL from the environment is a server database's (its password in a Secret).
        given = {**store_options("postgresql://" if env else url), **options.get("VoteStore", {})}
        store = VoteStore.options(name="VoteStore", **given).bind(url, env)
    ingress = Ingress.options(name="Ingress", **options.get("Ingress", {}))
    return ingress.bind(config.model_dump(), models, store)
