"""The application builder that Serve config files name: `import_path: serve.app:build_app`.

Example (what `deployments/demo.yaml` does)::

    from ray import serve
    from serve.app import build_app
    serve.run(build_app({"roles": {"instruct": {"model": {"source": "local", "path": "/models/x"}}}}))

The `args:` are validated by `serve.config.AppConfig` here, when the app is built: a bad config
fails `serve run` / `serve deploy` with a message naming the field.
"""

from __future__ import annotations

from ray.serve import Application

from serve.config import AppConfig
from serve.ingress import Ingress
from serve.model_server import ModelServer


def build_app(args: dict) -> Application:
    config = AppConfig.model_validate(args)
    models = {
        role: ModelServer.options(name=config.deployment_name(role)).bind(role, rc.model_dump())
        for role, rc in config.roles.items()
    }
    return Ingress.options(name="Ingress").bind(config.model_dump(), models)
