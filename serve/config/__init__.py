"""The application config: the `args:` of a Serve config file, validated when the app is built.

Every model has `extra="forbid"` (serve/config/base.py) so that a misspelt key fails `build_app`
with a message that names the field, never the first request. Deployment-level settings
(replicas, GPUs, autoscaling, queue limits) stay in the Serve config's `deployments:` section,
where Ray Serve owns them. The sections: engines.py (a role's model and engine), role.py (a
role), front.py (the ingress and the votes); `AppConfig` here holds them together.
"""

from __future__ import annotations

from pydantic import Field, model_validator

from serve.config.base import CHECK_ENGINE_ARGS, StrictConfig
from serve.config.engines import (
    BatchingConfig,
    EffortBudgets,
    ModelSourceConfig,
    SamplingDefaults,
    ScriptedEngineConfig,
    VLLMEngineConfig,
)
from serve.config.front import IngressConfig, VotesConfig
from serve.config.role import KIND_DEFAULTS, ROLE_NAME, Kind, PriceConfig, RoleConfig


class AppConfig(StrictConfig):
    """`args:` of `serve.app:build_app`."""

    roles: dict[str, RoleConfig] = Field(
        description="Role name → model, any number of them, each of a `kind` (the reference graph "
        "has one of each: base, instruct, reasoning). A name is letters, digits, `_` and `-`.")
    deployment_names: dict[str, str] = Field(
        default_factory=dict,
        description="Role → Serve deployment name; default the role capitalised (Base, ...).",
    )
    ingress: IngressConfig = Field(
        default_factory=IngressConfig, description="Time budgets and limits of the HTTP front."
    )
    votes: VotesConfig = Field(
        default_factory=VotesConfig, description="The arena's votes database and leaderboard."
    )
    role_apps: bool = Field(
        False, description="Each role served by a Serve application of its own, named as the "
        "role and built by `serve.app:build_role` from these same args, which answers OpenAI "
        "requests at `/roles/<role>/v1` with no hop through this ingress; this app's ingress "
        "calls the roles there. false: the roles are deployments of this app (one application).")
    role_app_prefix: str = Field(
        "", pattern=r"^[A-Za-z0-9_-]*$", description="With `role_apps`, the roles' applications "
        "are named this prefix and the role (`a-` and `instruct`: `a-instruct`): two graphs on "
        "one cluster keep theirs apart.")

    @model_validator(mode="after")
    def _roles_known(self):
        if not self.roles:
            raise ValueError("'roles' must name at least one role")
        bad = [name for name in self.roles if not ROLE_NAME.fullmatch(name)]
        if bad:
            raise ValueError(f"role name {bad[0]!r}: use letters, digits, '_' and '-' (at most 64, "
                             "starting with a letter or digit)")
        unknown = set(self.deployment_names) - set(self.roles)
        if unknown:
            raise ValueError(f"deployment_names names unknown roles: {sorted(unknown)}")
        return self

    def deployment_name(self, role: str) -> str:
        return self.deployment_names.get(role) or role.capitalize()

    def role_app(self, role: str) -> str:
        """The name of `role`'s own application (`role_apps`)."""
        return self.role_app_prefix + role


__all__ = ["AppConfig", "BatchingConfig", "CHECK_ENGINE_ARGS", "EffortBudgets", "IngressConfig",
           "KIND_DEFAULTS", "Kind", "ModelSourceConfig", "PriceConfig", "RoleConfig",
           "SamplingDefaults", "ScriptedEngineConfig", "VLLMEngineConfig", "VotesConfig"]
