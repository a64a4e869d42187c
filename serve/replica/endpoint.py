"""A role's replica answering HTTP itself: the ingress of an application of its own
(`role_apps: true`, built by `serve.app:build_role`), mounted at `/roles/<role>`.

One model behind an OpenAI client needs no comparing ingress: here the request goes from the
HTTP front (HAProxy, or Ray's proxy) straight to the replica that runs the engine, and the
answer's frames are made where its tokens are, with no Ray call or per-chunk message between two
processes. The routes are the comparing ingress's own (`serve/ingress/openai_routes.py`,
`responses_routes.py`, the same errors, API keys and body limit) over a `LocalCaller`, so the
two paths answer alike; the comparing ingress still calls this replica through its handle.

    POST /roles/instruct/v1/chat/completions    GET /roles/instruct/v1/models
    POST /roles/instruct/v1/completions         GET /roles/instruct/healthz
    POST /roles/instruct/v1/responses
"""

# No `from __future__ import annotations`: FastAPI must see the real body types of the routes.

import logging

from fastapi import FastAPI, Request
from ray import serve

from serve.api.openai import ChatCompletionRequest, CompletionRequest
from serve.api.protocol import ModelCard, ModelList
from serve.api.responses import ResponsesRequest
from serve.config import IngressConfig
from serve.errors import NotFound
from serve.ingress import http_errors, openai_routes, responses_routes
from serve.ingress.auth import exposure_warnings, http_host, load_keys
from serve.ingress.guard import GuardSettings, RequestGuard
from serve.ingress.role_client import LocalCaller
from serve.ingress.roles import Role
from serve.replica.deployment import ModelServer

logger = logging.getLogger("ray.serve")

role_api = FastAPI(title="triserve role", summary="One role's model, OpenAI-compatible")
GUARD = GuardSettings()
role_api.add_middleware(RequestGuard, settings=GUARD)
http_errors.install(role_api)


@serve.deployment(max_ongoing_requests=32, health_check_period_s=2, health_check_timeout_s=30)
@serve.ingress(role_api)
class RoleEndpoint(ModelServer.func_or_class):
    """`ModelServer` (the same engine, calls and health) with the role's OpenAI routes; the
    comparing ingress reaches it through its handle as it reaches a `ModelServer`."""

    async def __init__(self, role: str, config: dict, ingress: dict):
        await super().__init__(role, config)
        front = IngressConfig.model_validate(ingress)
        GUARD.max_body_bytes = front.max_body_bytes
        GUARD.api_keys = load_keys(front)
        for warning in exposure_warnings(front, GUARD.api_keys, http_host()):
            logger.warning("SECURITY: %s", warning)
        self.as_role = Role(role, self.config, LocalCaller(role, self, front.role_timeout_s))

    def _asked(self, model: str) -> Role:
        """The role, when `model` names it (its name or the id it serves); else a 404."""
        if model in (self.role, self.as_role.model):
            return self.as_role
        raise NotFound(f"unknown model {model!r}; this endpoint serves {self.role!r} "
                       f"({self.as_role.model})", param="model")

    @role_api.post("/v1/chat/completions")
    async def chat_completions(self, body: ChatCompletionRequest, request: Request):
        """OpenAI chat completions; `model` is the role or the id it serves."""
        return await openai_routes.chat_completions(
            self._asked(body.model), body, http_errors.request_id(request))

    @role_api.post("/v1/completions")
    async def completions(self, body: CompletionRequest, request: Request):
        """OpenAI text completions: each prompt continued as is (no chat template)."""
        return await openai_routes.completions(
            self._asked(body.model), body, http_errors.request_id(request))

    @role_api.post("/v1/responses")
    async def responses(self, body: ResponsesRequest, request: Request):
        """OpenAI's Responses API, as the comparing ingress serves it."""
        return await responses_routes.create(
            self._asked(body.model), body, http_errors.request_id(request))

    @role_api.get("/v1/models", response_model=ModelList)
    async def list_models(self):
        """This role, with the model it serves."""
        return ModelList(data=[self.as_role.card(self.role)])

    @role_api.get("/v1/models/{model:path}", response_model=ModelCard)
    async def retrieve_model(self, model: str):
        """The role by its name or the id it serves; 404 `model_not_found` for any other."""
        return self._asked(model).card(model)

    @role_api.get("/healthz")
    async def healthz(self):
        """200 while the engine answers; a 503 (`no_replica`) once it has died."""
        return await self.health()
