"""The OpenAI-compatible routes' work: requests fanned out per prompt and choice, answers whole or
streamed in OpenAI's shapes.

`n` choices (and, on /v1/completions, each prompt of a list) are separate requests to the role,
decoded side by side in the engine's batch; choice i of a request with `seed` s samples with seed
s + i, so each choice has its own random stream and the whole answer is reproducible. The choices'
`index` is prompt × n + choice, as OpenAI numbers them.

The reasoning role's thinking goes to `reasoning_content` (DeepSeek's name, which most clients
read) and `reasoning` (vLLM's current name). Streams end with `data: [DONE]`; an error after the
stream has started is sent as one `{"error": ...}` frame before it, as vLLM does.
"""

from __future__ import annotations

import asyncio
from contextlib import aclosing
from typing import AsyncIterator

from fastapi.responses import StreamingResponse

from serve.api import openai as op
from serve.errors import InvalidRequest
from serve.ingress.fanout import END, interleaved
from serve.ingress.role_client import RoleCaller, RoleStream
from serve.ingress.roles import Role
from serve.ingress.tool_choice import ForcedTools
from serve.generation import (
    Chunk,
    Completion,
    GenerationRequest,
    ParsedToolCall,
    TokenLogprob,
    thinking_budget,
)
from serve.api.protocol import ErrorResponse, GenerationParams, Usage, new_id
from serve.ingress.http_errors import error_info
from serve.ingress.ray_errors import classify
from serve.ingress.sse import DONE, SSE_HEADERS, sse


def _checked(role: Role, body, top_logprobs_param: str = "top_logprobs") -> GenerationParams:
    """The request's parameters (its thinking budget in OpenAI's or vLLM's terms applied),
    refused with a 400 where the role's caps say so, before anything is sent to it."""
    params = thinking_budget(body.to_generation_params(), role.config, body.reasoning_effort,
                             body.thinking_token_budget)
    role.check(params, body.n, top_logprobs_param)
    return params


def _choices(params: GenerationParams, n: int) -> list[GenerationParams]:
    if n == 1 or params.seed is None:
        return [params] * n
    return [params.model_copy(update={"seed": (params.seed + i) % 2**63}) for i in range(n)]


async def chat_completions(role: Role, body: op.ChatCompletionRequest, rid: str):
    """`POST /v1/chat/completions` for one role. Raises `InvalidRequest` for what the role
    cannot serve (`tools` left to the model without a tool parser, caps)."""
    params = _checked(role, body)
    forced = ForcedTools(body) if ForcedTools.applies(body) else None
    if forced is not None:  # the answer constrained to the tools' JSON (serve/ingress/tool_choice.py)
        params = params.model_copy(update={"response_format": forced.format})
    tools = body.tools_for_template()
    if tools and forced is None and role.config.tool_parser is None:
        raise InvalidRequest("this role reads no tool calls (its config has no tool_parser); "
                             "tool_choice 'required' or a named function works without one",
                             param="tools", code="tools_not_supported")
    messages = [m.for_template() for m in body.messages]
    reqs = [GenerationRequest(request_id=_sub_id(rid, i, body.n), messages=messages, params=p,
                              tools=tools, parse_tool_calls=forced is None,
                              template_kwargs=body.template_kwargs())
            for i, p in enumerate(_choices(params, body.n))]
    frames = ChatFrames(new_id("chatcmpl"), body, params, forced)
    return await _answer(role.caller, reqs, frames, rid)


async def completions(role: Role, body: op.CompletionRequest, rid: str):
    """`POST /v1/completions` for one role: every prompt of the list, `n` choices each. With
    `echo` the prompt comes first, and with `logprobs` too its tokens' log-probabilities (the
    first `null`, as OpenAI's); `max_tokens: 0` with `echo` scores the prompt alone."""
    params = _checked(role, body, top_logprobs_param="logprobs")
    if body.max_tokens == 0 and not body.echo:
        raise InvalidRequest("max_tokens 0 needs echo: true (the prompt scored, nothing "
                             "generated)", param="max_tokens")
    prompts = body.prompts()
    reqs = [GenerationRequest(request_id=_sub_id(rid, k * body.n + i, len(prompts) * body.n),
                              prompt=prompt, raw=True, params=p, echo=body.echo,
                              score_only=body.score_only)
            for k, prompt in enumerate(prompts) for i, p in enumerate(_choices(params, body.n))]
    return await _answer(role.caller, reqs, CompletionFrames(new_id("cmpl"), body, params), rid)


def _sub_id(rid: str, i: int, total: int) -> str:
    return rid if total == 1 else f"{rid}-{i}"


async def _answer(caller: RoleCaller, reqs: list[GenerationRequest], frames, rid: str):
    """The answer to an OpenAI request whose choices are `reqs` (in `index` order): streamed in
    `frames`' shape when the body asked, else whole."""
    if frames.stream:
        return await _stream(caller, reqs, frames, rid)
    done = await _gather(caller, reqs)
    return frames.whole(done, _usage(done, frames.n))


async def _gather(caller: RoleCaller, reqs: list[GenerationRequest]) -> list[Completion]:
    """Every choice at once; the first failure is the answer (the others are cancelled)."""
    tasks = [asyncio.create_task(caller.complete(r)) for r in reqs]
    try:
        return list(await asyncio.gather(*tasks))
    finally:
        for t in tasks:
            t.cancel()


def _usage(done: list[Completion] | list[Chunk], n: int) -> Usage:
    """Usage as OpenAI and vLLM count it: each prompt's tokens once, however many choices (`n`)
    it has, and every choice's completion tokens. `done` holds the choices in request order,
    `n` per prompt (a chat request has one prompt; a completions request one per prompt)."""
    prompt = sum(c.prompt_tokens for c in done[::n])
    return Usage.of(prompt, sum(c.completion_tokens for c in done),
                    sum(c.thinking_tokens for c in done))


def _finish(c: Completion | Chunk) -> str:
    return "tool_calls" if c.tool_calls else c.finish_reason


def _tool_calls(calls: list[ParsedToolCall]) -> list[op.ToolCall] | None:
    if not calls:
        return None
    return [op.ToolCall(id=c.id, function=op.ToolCallFunction(name=c.name, arguments=c.arguments))
            for c in calls]


def _message(c: Completion) -> op.ChatMessageOut:
    return op.ChatMessageOut(
        content=c.content if (c.content or not c.tool_calls) else None,
        reasoning_content=c.thinking, reasoning=c.thinking, tool_calls=_tool_calls(c.tool_calls))


def _chat_logprobs(lps: list[TokenLogprob]) -> op.ChatLogprobs:
    return op.ChatLogprobs(content=[
        op.ChatTokenLogprob(token=lp.token, logprob=lp.logprob, bytes=lp.bytes, top_logprobs=[
            op.TopLogprob(token=t, logprob=v, bytes=b) for t, v, b in lp.top])
        for lp in lps])


def _completion_logprobs(lps: list[TokenLogprob], offset: int = 0) -> op.CompletionLogprobs:
    out = op.CompletionLogprobs()
    for lp in lps:
        out.tokens.append(lp.token)
        out.token_logprobs.append(lp.logprob)
        out.top_logprobs.append({t: v for t, v, _ in lp.top} or None)
        out.text_offset.append(offset)
        offset += len(lp.token)
    return out


# ---- streams ------------------------------------------------------------------------------


class Frames:
    """What a request's answer needs of its body: the id, model, `n`, streaming and usage."""

    def __init__(self, cid: str, body: op.ChatCompletionRequest | op.CompletionRequest,
                 params: GenerationParams):
        self.cid, self.model, self.n = cid, body.model, body.n
        self.stream, self.include_usage = body.stream, body.include_usage
        self.logprobs = bool(params.logprobs)  # the completions route's `logprobs: 0` asks too


class ChatFrames(Frames):
    """The chat answer: whole, or the stream's frames for one chunk of choice `index`. With
    `forced` (a `tool_choice` that forces a call) the constrained answer is read as tool calls;
    `parallel_tool_calls: false` keeps the first call of a choice."""

    def __init__(self, cid: str, body: op.ChatCompletionRequest, params: GenerationParams,
                 forced: ForcedTools | None = None):
        super().__init__(cid, body, params)
        self.forced = forced
        self.one_call = body.parallel_tool_calls is False
        self.held: dict[int, str] = {}  # forced: each streamed choice's answer until it ends

    def _read(self, c: Completion | Chunk, answer: str) -> None:
        """Sets the tool calls `c`'s final `answer` holds (forced), or leaves it as the text."""
        calls = self.forced.calls(answer)
        c.tool_calls, c.content = (calls, "") if calls else ([], answer)

    def whole(self, done: list[Completion], usage: Usage) -> op.ChatCompletionResponse:
        for c in done:
            if self.forced is not None:
                self._read(c, c.content)
            if self.one_call:
                c.tool_calls = c.tool_calls[:1]
        return op.ChatCompletionResponse(
            id=self.cid, model=self.model, usage=usage,
            choices=[op.ChatChoice(index=i, message=_message(c), finish_reason=_finish(c),
                                   logprobs=_chat_logprobs(c.logprobs) if self.logprobs else None)
                     for i, c in enumerate(done)])

    def _frame(self, index: int, delta: op.ChatDelta, finish: str | None = None,
               logprobs: op.ChatLogprobs | None = None) -> op.ChatCompletionChunk:
        return op.ChatCompletionChunk(id=self.cid, model=self.model, choices=[
            op.ChatChunkChoice(index=index, delta=delta, finish_reason=finish, logprobs=logprobs)])

    def opening(self, index: int) -> list:
        return [self._frame(index, op.ChatDelta(role="assistant", content=""))]

    def of(self, index: int, chunk: Chunk) -> list:
        if self.forced is not None:
            self.held[index] = self.held.get(index, "") + chunk.content
            chunk.content = ""
            if chunk.finish_reason:
                self._read(chunk, self.held.pop(index))
        if self.one_call:
            chunk.tool_calls = chunk.tool_calls[:1]
        out = []
        if chunk.thinking:
            out.append(self._frame(index, op.ChatDelta(reasoning_content=chunk.thinking,
                                                       reasoning=chunk.thinking)))
        if chunk.content or chunk.logprobs:
            logprobs = _chat_logprobs(chunk.logprobs) if chunk.logprobs else None
            out.append(self._frame(index, op.ChatDelta(content=chunk.content), logprobs=logprobs))
        if chunk.tool_calls:
            calls = [op.DeltaToolCall(index=k, id=c.id, type="function", function=op.ToolCallFunction(
                name=c.name, arguments=c.arguments)) for k, c in enumerate(chunk.tool_calls)]
            out.append(self._frame(index, op.ChatDelta(tool_calls=calls)))
        if chunk.finish_reason:
            out.append(self._frame(index, op.ChatDelta(), _finish(chunk)))
        return out

    def usage(self, u: Usage) -> op.ChatCompletionChunk:
        return op.ChatCompletionChunk(id=self.cid, model=self.model, choices=[], usage=u)


class CompletionFrames(Frames):
    """The completions answer: whole, or the stream's frames for one chunk of choice `index`."""

    def __init__(self, cid: str, body: op.CompletionRequest, params: GenerationParams):
        super().__init__(cid, body, params)
        self.offsets: dict[int, int] = {}

    def whole(self, done: list[Completion], usage: Usage) -> op.CompletionResponse:
        return op.CompletionResponse(
            id=self.cid, model=self.model, usage=usage,
            choices=[op.CompletionChoice(
                index=i, text=c.content, finish_reason=_finish(c),
                logprobs=_completion_logprobs(c.logprobs) if self.logprobs else None)
                for i, c in enumerate(done)])

    def opening(self, index: int) -> list:
        return []

    def of(self, index: int, chunk: Chunk) -> list:
        if not (chunk.content or chunk.finish_reason or chunk.logprobs):
            return []
        logprobs = None
        if chunk.logprobs:
            logprobs = _completion_logprobs(chunk.logprobs, self.offsets.get(index, 0))
            self.offsets[index] = self.offsets.get(index, 0) + sum(len(t) for t in logprobs.tokens)
        choice = op.CompletionChoice(index=index, text=chunk.content,
                                     finish_reason=chunk.finish_reason, logprobs=logprobs)
        return [op.CompletionResponse(id=self.cid, model=self.model, choices=[choice])]

    def usage(self, u: Usage) -> op.CompletionResponse:
        return op.CompletionResponse(id=self.cid, model=self.model, choices=[], usage=u)


async def _stream(caller: RoleCaller, reqs: list[GenerationRequest], frames,
                  rid: str) -> StreamingResponse:
    """Opens every choice's stream (a refusal is the HTTP status), then interleaves their frames
    as they come; usage (when asked) after the last choice, then [DONE]."""
    opening = [asyncio.create_task(caller.open_stream(r)) for r in reqs]
    try:
        streams = await asyncio.gather(*opening)
    except BaseException:
        for t in opening:
            t.cancel()
        raise
    return StreamingResponse(_relay(streams, frames, rid), media_type="text/event-stream",
                             headers=SSE_HEADERS)


async def _relay(streams: list[RoleStream], frames, rid: str) -> AsyncIterator[str]:
    finals: dict[int, Chunk] = {}
    # A choice's opening frame (chat: the role) goes out with its first text, as vLLM's server
    # sends it: clients and benchmarks (vllm bench serve) take the first frame as the first token.
    opened: set[int] = set()
    async with aclosing(interleaved(dict(enumerate(streams)))) as items:
        async for index, item in items:
            if item is END:
                continue
            if isinstance(item, Exception):
                yield sse(ErrorResponse(error=error_info(classify(item), rid)))
                break
            if item.finish_reason:
                finals[index] = item
            out = frames.of(index, item)
            if out and index not in opened:
                opened.add(index)
                out = frames.opening(index) + out
            for frame in out:
                yield sse(frame)
        else:
            if frames.include_usage:
                yield sse(frames.usage(_usage([finals[i] for i in sorted(finals)], frames.n)))
    yield DONE
