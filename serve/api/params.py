"""The sampling parameters: their bounds, and their names in every place (`SAMPLING`), declared
once.

Every place that takes a sampling parameter uses these types: the wire models of the compare and
OpenAI routes (serve/api/protocol.py, serve/api/openai.py), a role's defaults
(serve/config/engines.py), the SDK and the CLI (which read the bounds and descriptions off
`GenerationParams`). Bounds follow
the OpenAI API where it has the parameter (`temperature` 0..2, `presence_penalty` and
`frequency_penalty` −2..2, `logit_bias` −100..100, `top_logprobs` 0..20) and vLLM's
`SamplingParams` for its extras (`top_k`, `min_p`, `repetition_penalty`, `min_tokens`).

Pydantic only: the SDK imports this without ray or torch.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Literal

from pydantic import Field, StringConstraints

MAX_STOP_STRINGS = 8
MAX_STOP_LENGTH = 64
MAX_LOGIT_BIAS = 300  # entries; OpenAI's limit
MAX_TOP_LOGPROBS = 20  # OpenAI's limit; a role's config may cap it lower

MaxTokens = Annotated[int, Field(ge=1, description="Most tokens to generate.")]
Temperature = Annotated[float, Field(ge=0.0, le=2.0, description="0 means greedy decoding.")]
TopP = Annotated[float, Field(gt=0.0, le=1.0, description="Nucleus sampling mass.")]
TopK = Annotated[int, Field(
    ge=-1, description="Keep the k most likely tokens; 0 or -1 = off; more than the vocabulary "
    "holds means all of it.")]
MinP = Annotated[float, Field(ge=0.0, le=1.0, description="Drop tokens below min_p × the top one.")]
RepetitionPenalty = Annotated[float, Field(
    gt=0.0, le=10.0, description="Divides the logits of tokens seen in prompt or output; 1 = off.")]
PresencePenalty = Annotated[float, Field(
    ge=-2.0, le=2.0, description="Subtracted once from the logit of every token already generated.")]
FrequencyPenalty = Annotated[float, Field(
    ge=-2.0, le=2.0, description="Subtracted from a token's logit per time it was generated.")]
LogitBias = Annotated[
    dict[Annotated[str, StringConstraints(pattern=r"^[0-9]{1,9}$")],
         Annotated[float, Field(ge=-100.0, le=100.0)]],
    Field(max_length=MAX_LOGIT_BIAS,
          description="Token id (as a string, as OpenAI sends it) → bias added to its logit."),
]
Seed = Annotated[int, Field(ge=0, le=2**63 - 1, description="Makes sampling reproducible.")]
StopStrings = Annotated[
    list[Annotated[str, Field(min_length=1, max_length=MAX_STOP_LENGTH)]],
    Field(max_length=MAX_STOP_STRINGS, description="Strings that end generation."),
]
MinTokens = Annotated[int, Field(ge=0, description="Tokens to generate before EOS or a stop "
                                                   "string may end the output.")]
ThinkingTokens = Annotated[int, Field(
    ge=0, description="Most tokens a reasoning model may think before it is made to answer "
    "(its end-of-thinking tokens are forced); 0 = no thinking. max_new_tokens still caps the total.")]
# OpenAI's `reasoning_effort` levels, as openai-python types them (`ReasoningEffort`, 2026): a
# role's config maps each to a thinking budget (serve/config/engines.py `EffortBudgets`).
Effort = Literal["none", "minimal", "low", "medium", "high", "xhigh", "max"]
TopLogprobs = Annotated[int, Field(ge=0, le=MAX_TOP_LOGPROBS,
                                   description="Most likely alternatives returned per token.")]


def stop_as_list(value):
    """`stop` may be one string or a list of them (OpenAI); inside, always a list."""
    return [value] if isinstance(value, str) else value


@dataclass(frozen=True)
class SamplingParam:
    """One sampling parameter and its name in every place that carries it.

    `name`: the field of `GenerationParams` (compare's `params`, the SDK's and CLI's keyword);
    `openai`: the OpenAI request's field, dotted for a nested one (None: not on the OpenAI
    routes); `internal`: the field of `serve.generation.SamplingParams` it resolves into (two
    wire fields may meet in one); `vllm`: vLLM's `SamplingParams` argument (None: triserve does
    that part itself, e.g. stop strings, or the prompt carries it); `role_default`: a role's
    config may set a default (`serve.config.SamplingDefaults`)."""

    name: str
    openai: str | None
    internal: str
    vllm: str | None
    role_default: bool = False


def _same(name: str, vllm: str | None = "same", role_default: bool = False) -> SamplingParam:
    return SamplingParam(name, name, name, name if vllm == "same" else vllm, role_default)


# The one list. tests/server/test_sampling_declared_once.py checks every model and mapping that
# carries these against it, so a parameter added in one place and not the others fails there.
SAMPLING: tuple[SamplingParam, ...] = (
    SamplingParam("max_new_tokens", "max_tokens", "max_new_tokens", "max_tokens", True),
    _same("temperature", role_default=True),
    _same("top_p", role_default=True),
    _same("top_k", role_default=True),
    _same("min_p", role_default=True),
    _same("repetition_penalty", role_default=True),
    _same("presence_penalty", role_default=True),
    _same("frequency_penalty", role_default=True),
    _same("logit_bias"),
    _same("stop", vllm=None, role_default=True),  # ours match stops on the text (engines/text.py)
    _same("seed"),
    _same("min_tokens"),
    _same("ignore_eos"),
    _same("include_stop_str_in_output", vllm=None),
    _same("logprobs"),
    SamplingParam("top_logprobs", "top_logprobs", "logprobs", None),
    SamplingParam("response_format", "response_format", "constraint", "structured_outputs"),
    SamplingParam("enable_thinking", "chat_template_kwargs.enable_thinking", "enable_thinking",
                  None, True),  # the chat template renders it
    SamplingParam("max_thinking_tokens", "thinking_token_budget", "max_thinking_tokens",
                  "thinking_token_budget", True),
)
