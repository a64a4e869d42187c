"""The HTTP front (API keys, time budgets, limits) and the arena's votes database."""

from __future__ import annotations

from pydantic import Field, field_validator

from serve.config.base import StrictConfig


class IngressConfig(StrictConfig):
    """The HTTP front: API keys, time budgets, limits."""

    api_keys_env: str | None = Field(
        "TRISERVE_API_KEYS",
        description="Env var with comma-separated API keys (set on every Ray node: replicas "
        "inherit it). With no key here nor in the file, the API is open.",
    )
    api_keys_file: str | None = Field(
        None, description="A file with one API key per line (# comments); adds to the env var's. "
        "It must exist when set (e.g. a mounted Kubernetes Secret).",
    )
    allow_unauthenticated: bool = Field(
        False, description="An open API (no key) on a non-loopback host is intended: no warning "
        "at start nor in /healthz. Without it, such an ingress warns loudly.",
    )
    role_timeout_s: float = Field(
        300.0, gt=0, description="A role's time budget inside a request; past it, a timeout error."
    )
    availability_poll_s: float = Field(
        1.0, ge=0, le=60, description="How often the ingress asks Serve which roles have a running "
        "replica; calls to a role with none get a 503 (no_replica) at once. 0: never (calls wait "
        "for a replica up to role_timeout_s).",
    )
    max_body_bytes: int = Field(1_000_000, ge=1024, description="Larger bodies get 413.")
    health_timeout_s: float = Field(5.0, gt=0, description="Per-role health probe budget.")


class VotesConfig(StrictConfig):
    """The arena's votes (`POST /v1/votes`) and leaderboard, kept by the `VoteStore` deployment."""

    enabled: bool = Field(
        True, description="Build the VoteStore deployment and the votes and leaderboard routes.")
    database_url: str = Field(
        "sqlite:///~/.triserve/votes.db",
        description="SQLAlchemy URL of the votes database; `~` expands on the store's node. "
        "SQLite (the default, a file in ~/.triserve) suits one node; several nodes, whose store "
        "replica may move, want a shared database: `postgresql+psycopg://user@host/triserve`.",
    )
    database_url_env: str | None = Field(
        None, description="The name of an environment variable that holds the database URL, "
        "read by the store's replica when it starts (a password kept in a Kubernetes Secret, "
        "never in the config); when set it wins over `database_url`.")
    timeout_s: float = Field(
        10.0, gt=0, le=300, description="Budget of one call to the store; past it (or with the "
        "store down) a 503 with Retry-After, never a hang.",
    )
    bootstrap_samples: int = Field(
        500, ge=0, le=10_000, description="Resamples behind the leaderboard's 95% intervals.")
    maker_names: list[str] = Field(
        default_factory=lambda: ["Alibaba", "Tongyi", "Qwen", "Gemma", "DeepMind",
                                 "Hugging Face", "HuggingFace", "SmolLM", "OpenAI", "ChatGPT",
                                 "Anthropic", "Claude", "Llama", "Mistral", "DeepSeek"],
        description="Names of makers and model families (words common in answers, such as "
        "Google or Meta, left out): a vote whose shown answer says one, or a role's model id "
        "(or its family name: `SmolLM2` of `SmolLM2-135M-Instruct`), is flagged and left out of "
        "the standings by default (`include_flagged`).")

    @field_validator("database_url")
    @classmethod
    def _url(cls, value: str) -> str:
        from sqlalchemy.engine import make_url  # the serve extra; the SDK never imports this

        try:
            make_url(value)
        except Exception as exc:
            raise ValueError(f"not a database URL: {exc}") from None
        return value
