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
    cannot serve (`tools` without a tool parser, `tool_choice` other than auto/none, caps)."""
    params = _checked(role, body)
    tools = body.tools_for_template()
    if tools and role.config.tool_parser is None:
        raise InvalidRequest("this role reads no tool calls (its config has no tool_parser)",
                             param="tools", code="tools_not_supported")
    if body.tool_choice not in (None, "none", "auto"):
        raise InvalidRequest("tool_choice 'required' or a named function is not served; use "
                             "'auto' or 'none'", param="tool_choice")
    messages = [m.for_template() for m in body.messages]
    reqs = [GenerationRequest(request_id=_sub_id(rid, i, body.n), messages=messages, params=p,
                              tools=tools, template_kwargs=body.template_kwargs())
            for i, p in enumerate(_choices(params, body.n))]
    cid = new_id("chatcmpl")
    if body.stream:
        return await _stream(role.caller, reqs, ChatFrames(cid, body.model, body.include_usage), rid)
    done = await _gather(role.caller, reqs)
    return op.ChatCompletionResponse(
        id=cid, model=body.model, usage=_usage(done, ChatFrames.shared_prompt),
        choices=[op.ChatChoice(index=i, message=_message(c), finish_reason=_finish(c),
                               logprobs=_chat_logprobs(c.logprobs) if params.logprobs else None)
                 for i, c in enumerate(done)])


async def completions(role: Role, body: op.CompletionRequest, rid: str):
    """`POST /v1/completions` for one role: every prompt of the list, `n` choices each."""
    params = _checked(role, body, top_logprobs_param="logprobs")
    if body.echo and body.logprobs is not None:
        raise InvalidRequest("echo with logprobs is not served (it needs the prompt's "
                             "log-probabilities)", param="echo")
    prompts = body.prompts()
    reqs = [GenerationRequest(request_id=_sub_id(rid, k * body.n + i, len(prompts) * body.n),
                              prompt=prompt, raw=True, params=p, echo=body.echo)
            for k, prompt in enumerate(prompts) for i, p in enumerate(_choices(params, body.n))]
    cid = new_id("cmpl")
    if body.stream:
        return await _stream(role.caller, reqs, CompletionFrames(cid, body.model, body.include_usage), rid)
    done = await _gather(role.caller, reqs)
    return op.CompletionResponse(
        id=cid, model=body.model, usage=_usage(done, CompletionFrames.shared_prompt),
        choices=[op.CompletionChoice(index=i, text=c.content, finish_reason=_finish(c),
                                     logprobs=_completion_logprobs(c.logprobs) if params.logprobs
                                     else None)
                 for i, c in enumerate(done)])


def _sub_id(rid: str, i: int, total: int) -> str:
    return rid if total == 1 else f"{rid}-{i}"


async def _gather(caller: RoleCaller, reqs: list[GenerationRequest]) -> list[Completion]:
    """Every choice at once; the first failure is the answer (the others are cancelled)."""
    tasks = [asyncio.create_task(caller.complete(r)) for r in reqs]
    try:
        return list(await asyncio.gather(*tasks))
    finally:
        for t in tasks:
            t.cancel()


def _usage(done: list[Completion] | list[Chunk], shared_prompt: bool) -> Usage:
    """Prompt tokens once when every choice shares the prompt (chat), else per prompt."""
    prompt = (done[0].prompt_tokens if done else 0) if shared_prompt else sum(
        c.prompt_tokens for c in done)
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


class ChatFrames:
    """The chat stream's frames for one chunk of choice `index`."""

    shared_prompt = True  # every choice answers the same messages: prompt tokens count once

    def __init__(self, cid: str, model: str, include_usage: bool):
        self.cid, self.model, self.include_usage = cid, model, include_usage

    def _frame(self, index: int, delta: op.ChatDelta, finish: str | None = None,
               logprobs: op.ChatLogprobs | None = None) -> op.ChatCompletionChunk:
        return op.ChatCompletionChunk(id=self.cid, model=self.model, choices=[
            op.ChatChunkChoice(index=index, delta=delta, finish_reason=finish, logprobs=logprobs)])

    def opening(self, index: int) -> list:
        return [self._frame(index, op.ChatDelta(role="assistant", content=""))]

    def of(self, index: int, chunk: Chunk) -> list:
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


class CompletionFrames:
    """The completions stream's frames for one chunk of choice `index`."""

    shared_prompt = False  # a list of prompts: each choice's prompt counts

    def __init__(self, cid: str, model: str, include_usage: bool):
        self.cid, self.model, self.include_usage = cid, model, include_usage
        self.offsets: dict[int, int] = {}

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
                yield sse(frames.usage(_usage(list(finals.values()), frames.shared_prompt)))
    yield DONE
