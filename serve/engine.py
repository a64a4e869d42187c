"""The engine seam: what a model deployment needs from whatever runs the model.

`HFEngine` (serve/hf_engine.py) is the real one, on transformers and torch. `ScriptedEngine`
(serve/scripted_engine.py) emits deterministic text with injectable delays and faults, for
fault-injection tests and serving-overhead benchmarks. `build_engine` picks one by the role's
`engine` setting.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Iterator

from serve.config import RoleConfig
from serve.errors import InvalidRequest
from serve.generation import Chunk, GenerationRequest, PreparedRequest, SamplingParams
from serve.protocol import GenerationParams


class Engine(ABC):
    """Contract of an engine. One instance per replica; `generate` runs in a worker thread."""

    def __init__(self, config: RoleConfig):
        self.config = config
        self.model_id = config.model_id()

    @abstractmethod
    def start(self) -> None:
        """Load the model. Raises when it cannot, which fails the replica's start."""

    @abstractmethod
    def prepare(self, req: GenerationRequest) -> PreparedRequest:
        """Render and tokenize the prompt and resolve the parameters against the role's
        defaults and caps. Raises `InvalidRequest` (naming `param`) for anything it refuses."""

    @abstractmethod
    def generate(self, batch: list[PreparedRequest]) -> Iterator[list[Chunk | None]]:
        """Decode a batch. Yields once per step a list as long as `batch`: a `Chunk` for each
        request that produced text or finished in that step, else None. Each request gets
        exactly one chunk with `finish_reason` set and nothing after it. A request whose
        `cancelled` event is set is finished with `cancelled` at the next step."""

    def check_health(self) -> None:
        """Raises when the engine cannot serve; Serve then restarts the replica."""

    def shutdown(self) -> None:
        """Release what `start` took."""


def resolve_sampling(params: GenerationParams, config: RoleConfig) -> SamplingParams:
    """The request's parameters laid over the role's defaults, checked against its caps."""
    d = config.defaults
    max_new = params.max_new_tokens or d.max_new_tokens
    if max_new > config.max_new_tokens_cap:
        raise InvalidRequest(
            f"max_new_tokens is {max_new}; this role allows at most {config.max_new_tokens_cap}",
            param="max_new_tokens",
            code="above_cap",
        )

    def pick(name):
        value = getattr(params, name)
        return getattr(d, name) if value is None else value

    if params.temperature is not None:
        temperature = params.temperature
    else:
        temperature = d.temperature if d.do_sample else 0.0
    return SamplingParams(
        max_new_tokens=max_new,
        temperature=temperature,
        top_p=pick("top_p"),
        top_k=pick("top_k"),
        min_p=pick("min_p"),
        repetition_penalty=pick("repetition_penalty"),
        stop=tuple(pick("stop")),
        seed=params.seed,
        enable_thinking=pick("enable_thinking"),
    )


def build_messages(req: GenerationRequest, config: RoleConfig) -> list[dict]:
    """The chat for a chat-format prompt: the system prompt (the request's, else the role's
    default, unless the messages bring their own) and the user's prompt or messages."""
    messages = list(req.messages) if req.messages is not None else [
        {"role": "user", "content": req.prompt}
    ]
    system = req.system if req.system is not None else config.system_prompt
    if system and not any(m["role"] == "system" for m in messages):
        messages.insert(0, {"role": "system", "content": system})
    return messages


def uses_raw_prompt(req: GenerationRequest, config: RoleConfig) -> bool:
    return req.raw or (req.prompt is not None and config.prompt_format == "raw")


def build_engine(config: RoleConfig) -> Engine:
    if config.engine == "scripted":
        from serve.scripted_engine import ScriptedEngine

        return ScriptedEngine(config)
    from serve.hf_engine import HFEngine

    return HFEngine(config)
