"""A role as the ingress holds it: its name, its config, the model it serves and the client of its
replicas, and the one place where a request is held to the role's caps."""

from __future__ import annotations

from dataclasses import dataclass

from serve.api.protocol import GenerationParams
from serve.config import RoleConfig
from serve.errors import InvalidRequest
from serve.generation import SamplingParams, resolve_sampling
from serve.ingress.role_client import RoleCaller


@dataclass
class Role:
    """One role of the graph. `model`: the id of the model it serves (what `/v1/models` lists
    and an OpenAI request may name instead of the role)."""

    name: str
    config: RoleConfig
    caller: RoleCaller

    @property
    def model(self) -> str:
        return self.config.model_id()

    def check(self, params: GenerationParams, n: int = 1,
              top_logprobs_param: str = "top_logprobs") -> SamplingParams:
        """The request's parameters resolved against the role, or `InvalidRequest` (a 400, code
        `above_cap`) for what the role refuses: more than `n_cap` choices, `top_logprobs` past
        `top_logprobs_cap` (named `top_logprobs_param`, as the client sent it: `/v1/completions`
        calls it `logprobs`), `max_new_tokens` past `max_new_tokens_cap`. Called before anything
        is sent to the role, so a refused request costs the role nothing."""
        cfg = self.config
        if n > cfg.n_cap:
            raise InvalidRequest(f"n is {n}; this role allows at most {cfg.n_cap}",
                                 param="n", code="above_cap")
        k = params.top_logprobs
        if k is not None and k > cfg.top_logprobs_cap:
            raise InvalidRequest(
                f"{top_logprobs_param} is {k}; this role allows at most {cfg.top_logprobs_cap}",
                param=top_logprobs_param, code="above_cap")
        return resolve_sampling(params, cfg)
