"""Responses of the OpenAI-compatible routes, whole and streamed.

The reasoning role's thinking goes to `reasoning_content` (DeepSeek's name, which most clients
read) and `reasoning` (vLLM's current name). Streams end with `data: [DONE]`; an error after the
stream has started is sent as one `{"error": ...}` frame before it, as vLLM does.
"""

from __future__ import annotations

from typing import AsyncIterator, Callable

from serve.calls import RoleStream
from serve.errors import TriserveError
from serve.generation import Chunk, Completion
from serve.http_errors import classify, error_info
from serve.protocol import (
    ChatChoice,
    ChatChunkChoice,
    ChatCompletionChunk,
    ChatCompletionResponse,
    ChatDelta,
    ChatMessageOut,
    CompletionChoice,
    CompletionResponse,
    ErrorResponse,
    Usage,
)
from serve.sse import DONE, sse


def chat_response(rid: str, model: str, c: Completion) -> ChatCompletionResponse:
    message = ChatMessageOut(
        content=c.content, reasoning_content=c.thinking, reasoning=c.thinking
    )
    return ChatCompletionResponse(
        id=rid,
        model=model,
        choices=[ChatChoice(message=message, finish_reason=c.finish_reason)],
        usage=Usage.of(c.prompt_tokens, c.completion_tokens, c.thinking_tokens),
    )


def completion_response(rid: str, model: str, c: Completion) -> CompletionResponse:
    return CompletionResponse(
        id=rid,
        model=model,
        choices=[CompletionChoice(text=c.content, finish_reason=c.finish_reason)],
        usage=Usage.of(c.prompt_tokens, c.completion_tokens),
    )


async def _relay(
    stream: RoleStream,
    rid: str,
    frames: Callable[[Chunk], list],
    usage_frame: Callable[[Usage], object] | None,
) -> AsyncIterator[str]:
    last = Chunk()
    try:
        async for chunk in stream:
            for frame in frames(chunk):
                yield sse(frame)
            last = chunk
        if usage_frame is not None:
            yield sse(usage_frame(Usage.of(last.prompt_tokens, last.completion_tokens, last.thinking_tokens)))
    except Exception as exc:
        err = exc if isinstance(exc, TriserveError) else classify(exc)
        yield sse(ErrorResponse(error=error_info(err, rid)))
    yield DONE


def chat_stream(rid: str, model: str, stream: RoleStream, include_usage: bool) -> AsyncIterator[str]:
    def chunk_of(delta: ChatDelta, finish: str | None = None) -> ChatCompletionChunk:
        return ChatCompletionChunk(
            id=rid, model=model, choices=[ChatChunkChoice(delta=delta, finish_reason=finish)]
        )

    def frames(chunk: Chunk) -> list:
        out = []
        if chunk.thinking:
            out.append(chunk_of(ChatDelta(reasoning_content=chunk.thinking, reasoning=chunk.thinking)))
        if chunk.content:
            out.append(chunk_of(ChatDelta(content=chunk.content)))
        if chunk.finish_reason:
            out.append(chunk_of(ChatDelta(), chunk.finish_reason))
        return out

    def usage_frame(u: Usage) -> ChatCompletionChunk:
        return ChatCompletionChunk(id=rid, model=model, choices=[], usage=u)

    async def gen():
        yield sse(chunk_of(ChatDelta(role="assistant", content="")))
        async for frame in _relay(stream, rid, frames, usage_frame if include_usage else None):
            yield frame

    return gen()


def completion_stream(rid: str, model: str, stream: RoleStream, include_usage: bool) -> AsyncIterator[str]:
    def frames(chunk: Chunk) -> list:
        if not (chunk.content or chunk.finish_reason):
            return []
        choice = CompletionChoice(text=chunk.content, finish_reason=chunk.finish_reason)
        return [CompletionResponse(id=rid, model=model, choices=[choice])]

    def usage_frame(u: Usage) -> CompletionResponse:
        return CompletionResponse(id=rid, model=model, choices=[], usage=u)

    return _relay(stream, rid, frames, usage_frame if include_usage else None)
