"""The engine seam: what a model deployment needs from whatever runs the model.

The seam is per request and async (as Ray Serve LLM's `LLMEngine`): the deployment hands each
request to `stream` and reads its chunks; the engine schedules its own batch. `HFEngine`
(serve/engines/hf/) batches continuously in its own decode thread; `VLLMEngine`
(serve/engines/vllm/) hands requests to vLLM's scheduler; `ScriptedEngine`
(serve/engines/scripted.py) emits set text with set delays and faults, for tests and overhead
benchmarks. `serve.engines.build_engine` picks one by the role's `engine` setting.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import AsyncIterator

from serve.api.protocol import GenerationParams
from serve.config import RoleConfig
from serve.errors import InvalidRequest
from serve.generation import Chunk, GenerationRequest, PreparedRequest, TokenLogprob

# What `warm_up` sends: a short raw prompt, a few tokens, greedy.
WARM_UP_PROMPT = "Hello"
WARM_UP_TOKENS = 4


class Engine(ABC):
    """Contract of an engine. One instance per replica, used from the replica's event loop.

    Lifecycle: `await start()` loads the model (raises when it cannot: the replica fails to
    start), `await warm_up()` runs one short generation so that the first user does not pay for
    first-call allocations, then `prepare` + `stream` per request, `check_health` when Serve
    asks, `shutdown` at the end.
    """

    def __init__(self, config: RoleConfig):
        self.config = config
        self.model_id = config.model_id()

    @abstractmethod
    async def start(self) -> None:
        """Load the model. Raises when it cannot, which fails the replica's start."""

    @abstractmethod
    def prepare(self, req: GenerationRequest) -> PreparedRequest:
        """Render and tokenize the prompt and resolve the parameters against the role's
        defaults and caps. Raises `InvalidRequest` (naming `param`) for anything it refuses."""

    @abstractmethod
    def stream(self, req: PreparedRequest) -> AsyncIterator[Chunk]:
        """Decode one request; an async iterator of its chunks. The last chunk has
        `finish_reason` set and nothing comes after it. Closing the iterator early (the caller
        went away) or setting `req.cancelled` ends the request in the engine at its next step.
        A failure of this request alone (its sampling, grammar or text handling) ends it with a
        final chunk whose `finish_reason` is "error" and `error` says why; every other request
        goes on and gets what it gets alone. Raises when the engine cannot go on."""

    async def prompt_logprobs(self, req: PreparedRequest) -> list[TokenLogprob]:
        """The log-probability of each of `req`'s prompt tokens given those before it, with the
        `req.sampling.logprobs` most likely alternatives, one `TokenLogprob` per prompt token (the
        first has None): what `/v1/completions` returns for `echo` with `logprobs`, and how
        lm-evaluation-harness scores a continuation. Raises `InvalidRequest` (param `echo`) where
        the engine runs no model."""
        raise InvalidRequest(f"{type(self).__name__} cannot score a prompt", param="echo")

    async def warm_up(self) -> None:
        """One short greedy generation, drained; raises when the engine cannot generate. A raw
        prompt: every model takes one, with or without a chat template."""
        req = GenerationRequest(
            request_id="warm-up",
            prompt=WARM_UP_PROMPT,
            raw=True,
            params=GenerationParams(max_new_tokens=WARM_UP_TOKENS, temperature=0.0),
        )
        async for _ in self.stream(self.prepare(req)):
            pass

    async def check_health(self) -> None:
        """Raises when the engine cannot serve; Serve then restarts the replica."""

    def loaded_as(self) -> str:
        """How the started engine holds its model, for the replica's start log line (e.g.
        "float32 on cpu, 211 linear layers packed for oneDNN"); "" when there is nothing to say."""
        return ""

    def dead(self) -> str | None:
        """Why the engine can never serve again (its process or decode thread died), else None.
        Cheap and non-blocking: the replica asks it every `ENGINE_WATCH_S` and after a failed
        request, and ends itself when it is set (serve/replica/deployment.py)."""
        return None

    def running(self) -> int:
        """Requests the engine holds now (decoding or waiting for a batch row)."""
        return 0

    def shutdown(self) -> None:
        """Release what `start` took. Safe to call twice."""


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
    """True when the prompt is continued as is (no chat template)."""
    return req.raw or (req.prompt is not None and config.prompt_format == "raw")
