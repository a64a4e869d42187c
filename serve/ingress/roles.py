"""A role as the ingress holds it: its name, its config, the model it serves and the client of its
replicas, and the one place where a request is held to the role's caps."""

from __future__ import annotations

from dataclasses import dataclass

from serve.api.protocol import GenerationParams, ModelCard
from serve.config import KIND_DEFAULTS, RoleConfig
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

    @property
    def kind(self) -> str:
        """The config's `kind`; a config without kinds: the role's name where it names one (the
        reference graph's `base` sends chat prompts, as the study did), else read from its
        settings (`RoleConfig.kind_of`)."""
        if self.config.kind is None and self.name in KIND_DEFAULTS:
            return self.name
        return self.config.kind_of

    def card(self, id: str) -> ModelCard:
        """The role as `/v1/models` lists it, under `id` (its name, or the id it was asked by)."""
        price = self.config.price
        return ModelCard(id=id, role=self.name, model=self.model, root=self.model,
                         kind=self.kind, price=price.model_dump() if price else None)

    def check(self, params: GenerationParams, n: int = 1,
              top_logprobs_param: str = "top_logprobs") -> SamplingParams:
        """The request's parameters resolved against the role, or `InvalidRequest` (a 400, code
        `above_cap`) for what the role refuses: more than `n_cap` choices, and what
        `resolve_sampling` refuses (`max_new_tokens`, `top_logprobs` named `top_logprobs_param`).
        Called before anything is sent to the role, so a refused request costs the role nothing."""
        if n > self.config.n_cap:
            raise InvalidRequest(f"n is {n}; this role allows at most {self.config.n_cap}",
                                 param="n", code="above_cap")
        return resolve_sampling(params, self.config, top_logprobs_param)
