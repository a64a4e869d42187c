"""The ingress deployment: the HTTP API in front of the model deployments.

Routes stay thin: they validate (pydantic, through FastAPI), pick the roles, and hand the work to
`compare.py` (the fan-out), `openai_routes.py`, `responses_routes.py` and `votes_routes.py`, which
reach the roles through `role_client.py`. Every error leaves through `http_errors.py`.
"""

# No `from __future__ import annotations` here: FastAPI must see the real body types of the
# route methods, which Ray Serve re-binds on the deployment class.

import asyncio
import logging
import random
import time
from typing import Literal

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, StreamingResponse
from ray import serve

from serve.api.openai import ChatCompletionRequest, CompletionRequest
from serve.api.responses import ResponsesRequest
from serve.api.votes import Leaderboard, VoteAck, VoteRequest
from serve.config import AppConfig
from serve.errors import InvalidRequest, NotFound, Unavailable
from serve.ingress import http_errors, openai_routes, page, responses_routes
from serve.ingress.auth import exposure_warnings, http_host, load_keys
from serve.ingress.availability import ReplicaWatch
from serve.ingress.compare import Comparison, role_requests
from serve.ingress.guard import GuardSettings, RequestGuard
from serve.ingress.ray_errors import classify
from serve.ingress.role_client import RoleCaller, await_response
from serve.ingress.roles import Role
from serve.ingress.sse import SSE_HEADERS
from serve.ingress.votes_routes import JSONL, VoteGateway
from serve.metrics import ingress_metrics
from serve.votes import battles
from serve.api.protocol import (
    CompareRequest,
    CompareResponse,
    HealthResponse,
    ModelCard,
    ModelList,
    RoleHealth,
    new_id,
)

logger = logging.getLogger("ray.serve")

api = FastAPI(
    title="triserve",
    summary="Base, Instruct and Reasoning models side by side",
    version="0.1.0",
)


GUARD = GuardSettings()
api.add_middleware(RequestGuard, settings=GUARD)
http_errors.install(api)
page.install(api)

@serve.deployment(max_ongoing_requests=256)
@serve.ingress(api)
class Ingress:
    def __init__(self, config: dict, models: dict, votes=None):
        self.config = AppConfig.model_validate(config)
        cfg = self.config.ingress
        GUARD.max_body_bytes = cfg.max_body_bytes
        GUARD.api_keys = load_keys(cfg)
        self.warnings = exposure_warnings(cfg, GUARD.api_keys, http_host())
        for warning in self.warnings:
            logger.warning("SECURITY: %s", warning)
        # With `role_apps` a role is (its application, its deployment), reached across apps.
        # _check_exists=False: the roles' applications may be registered after this one.
        models = {role: serve.get_deployment_handle(m[1], app_name=m[0], _check_exists=False)
                  if isinstance(m, (tuple, list)) else m for role, m in models.items()}
        self.watch = ReplicaWatch(
            {role: (h.app_name, h.deployment_name) for role, h in models.items()},
            cfg.availability_poll_s)
        self.watch.start()  # Serve runs the constructor on the replica's event loop
        self.roles = {name: Role(name, self.config.roles[name],
                                 RoleCaller(name, h, cfg.role_timeout_s, self.watch))
                      for name, h in models.items()}
        self.votes = VoteGateway(votes, self.config.votes.timeout_s,
                                 self.config.votes.bootstrap_samples,
                                 [r.model for r in self.roles.values()],
                                 self.config.votes.maker_names)

    # ---- helpers ------------------------------------------------------------------------------

    def _roles(self, asked: list[str] | None) -> list[Role]:
        if asked is None:
            return list(self.roles.values())
        unknown = [r for r in asked if r not in self.roles]
        if unknown:
            raise NotFound(
                f"unknown role {unknown[0]!r}; roles: {', '.join(self.roles)}", param="roles"
            )
        return [self.roles[r] for r in dict.fromkeys(asked)]

    def _battle(self, k: int) -> dict[str, str]:
        """k roles drawn by `battle_weight` (serve/votes/battles.py), role → letter shown."""
        weights = {r.name: r.config.battle_weight for r in self.roles.values()}
        try:
            return battles.labels(battles.pick(weights, k, random.SystemRandom()))
        except ValueError as exc:
            raise InvalidRequest(str(exc), param="battle") from None

    def _role_for_model(self, model: str) -> Role:
        """`model` may be a role name or the model id a role serves (the first role that does)."""
        if model in self.roles:
            return self.roles[model]
        for role in self.roles.values():
            if role.model == model:
                return role
        raise NotFound(
            f"unknown model {model!r}; use a role ({', '.join(self.roles)}) or a served id",
            param="model",
        )

    # ---- routes -------------------------------------------------------------------------------

    @api.post("/v1/compare", response_model=CompareResponse)
    async def compare(self, body: CompareRequest, request: Request):
        """The same input to several roles at once (default all); `stream` gives SSE events."""
        rid = http_errors.request_id(request)
        labels = self._battle(body.battle) if body.battle is not None else None
        roles = [self.roles[r] for r in labels] if labels else self._roles(body.roles)
        stray = sorted(set(body.overrides) - {r.name for r in roles})
        if stray:
            raise InvalidRequest(f"overrides for roles not asked: {stray}", param="overrides")
        reqs = role_requests(body, roles, rid)
        for role in roles:  # every role's caps before any role is asked
            role.check(reqs[role.name].params)
        comparison = Comparison({r.name: r for r in roles}, reqs, new_id("cmp"), rid, labels)
        if labels:  # kept before any answer goes out, so that the vote can reveal them
            await self.votes.keep_battle(comparison.cid, {
                letter: {"role": role, "model": self.roles[role].model}
                for role, letter in labels.items()})
        if body.stream:
            events = await comparison.open_stream()
            return StreamingResponse(events, media_type="text/event-stream", headers=SSE_HEADERS)
        start = time.perf_counter()
        results = await comparison.results()
        ingress_metrics().compare_latency.observe(
            time.perf_counter() - start, tags={"roles": ",".join(r.name for r in roles)})
        return CompareResponse(id=comparison.cid, created=int(time.time()), results=results)

    @api.post("/v1/chat/completions")
    async def chat_completions(self, body: ChatCompletionRequest, request: Request):
        """OpenAI chat completions; `model` is a role or a served model id."""
        return await openai_routes.chat_completions(
            self._role_for_model(body.model), body, http_errors.request_id(request))

    @api.post("/v1/completions")
    async def completions(self, body: CompletionRequest, request: Request):
        """OpenAI text completions: each prompt continued as is (no chat template)."""
        return await openai_routes.completions(
            self._role_for_model(body.model), body, http_errors.request_id(request))

    @api.post("/v1/responses")
    async def responses(self, body: ResponsesRequest, request: Request):
        """OpenAI's Responses API (the part a local model can honour: serve/ingress/responses_routes.py)."""
        return await responses_routes.create(
            self._role_for_model(body.model), body, http_errors.request_id(request))

    @api.get("/v1/models", response_model=ModelList)
    async def list_models(self):
        """The roles, each with the model it serves."""
        return ModelList(data=[r.card(r.name) for r in self.roles.values()])

    @api.get("/v1/models/{model:path}", response_model=ModelCard)
    async def retrieve_model(self, model: str):
        """One model (openai's `client.models.retrieve`): a role name or a model id a role serves
        (ids may hold `/`); 404 `model_not_found` for any other."""
        return self._role_for_model(model).card(model)

    @api.post("/v1/votes", response_model=VoteAck)
    async def vote(self, body: VoteRequest):
        """Stores a vote on a comparison (a second vote on it replaces the first); answers once
        the vote is committed, or 503 when the store cannot take it now."""
        return await self.votes.vote(body)

    @api.get("/v1/votes")
    async def export_votes(self):
        """Every vote as JSONL (one `VoteRecord` a line), in the order they were first cast."""
        return StreamingResponse(await self.votes.export(), media_type=JSONL)

    @api.get("/v1/leaderboard", response_model=Leaderboard)
    async def leaderboard(self, by: Literal["model", "role"] = "model", style: bool = True,
                          category: str | None = None, include_flagged: bool = False,
                          first_vote_only: bool = False):
        """Bradley-Terry standings of the models (or roles) with bootstrap 95% intervals; with
        style held equal (and the plain fit beside) unless `style=false`; `category`: one
        category's votes alone; votes whose answers named a model are left out unless
        `include_flagged=true`; `first_vote_only`: each voter session's first vote alone."""
        return await self.votes.leaderboard(by, style, category, include_flagged,
                                            first_vote_only)

    @api.get("/healthz", response_model=HealthResponse)
    async def healthz(self):
        """Each role's readiness; 503 when any role cannot answer. `warnings`: what the operator
        must know (an API open to the network)."""
        timeout = self.config.ingress.health_timeout_s

        async def probe(role: Role) -> RoleHealth:
            try:
                await self.watch.check(role.name)  # Serve's controller: no running replica
            except Unavailable as exc:
                return RoleHealth(status="unavailable", model=role.model, error=exc.message)
            try:
                await asyncio.wait_for(await_response(role.caller.handle.health.remote()), timeout)
                return RoleHealth(status="ok", model=role.model)
            except Exception as exc:
                msg = "timed out" if isinstance(exc, asyncio.TimeoutError) else classify(exc).message
                return RoleHealth(status="unavailable", model=role.model, error=msg)

        checks = await asyncio.gather(*(probe(r) for r in self.roles.values()))
        roles = dict(zip(self.roles, checks))
        ok = all(c.status == "ok" for c in checks)
        body = HealthResponse(status="ok" if ok else "degraded", roles=roles,
                              warnings=self.warnings)
        return JSONResponse(body.model_dump(), status_code=200 if ok else 503)

