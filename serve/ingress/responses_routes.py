"""`POST /v1/responses` for one role: whole, or streamed as OpenAI's documented event sequence.

A reasoning role's thinking is its own output item (`type: reasoning`, its text in
`content[0].text`), before the message item; usage counts it in
`output_tokens_details.reasoning_tokens`. A stream goes (https://platform.openai.com/docs/
api-reference/responses-streaming): `response.created`, `response.in_progress`, then per item
`response.output_item.added`, for the message `response.content_part.added`, the deltas
(`response.reasoning_text.delta` / `response.output_text.delta`), `response.reasoning_text.done` /
`response.output_text.done`, `response.content_part.done`, `response.output_item.done`; at the
end `response.completed` (or `response.incomplete` when `max_output_tokens` cut it) with the whole
response. A failure after the stream started is one `error` event. Every event carries
`sequence_number`.
"""

from __future__ import annotations

from typing import AsyncIterator

from fastapi.responses import StreamingResponse
from pydantic import BaseModel, ConfigDict

from serve.api import responses as rp
from serve.errors import InvalidRequest
from serve.ingress.role_client import RoleStream
from serve.ingress.roles import Role
from serve.generation import (
    Accumulator,
    Completion,
    GenerationRequest,
    thinking_budget,
)
from serve.api.protocol import GenerationParams, new_id
from serve.ingress.ray_errors import classify
from serve.ingress.sse import SSE_HEADERS


def _refuse(body: rp.ResponsesRequest) -> None:
    if body.store:
        raise InvalidRequest("responses are not stored here; send store: false or leave it out",
                             param="store")
    if body.previous_response_id:
        raise InvalidRequest("responses are not stored here, so none can be continued; send the "
                             "conversation in `input`", param="previous_response_id")
    if body.tools:
        raise InvalidRequest("tools are served on /v1/chat/completions, not here", param="tools")


async def create(role: Role, body: rp.ResponsesRequest, rid: str):
    """The role's response. Raises `InvalidRequest` naming what is not served."""
    _refuse(body)
    fmt = body.text.format if body.text and body.text.format else None
    params = GenerationParams(max_new_tokens=body.max_output_tokens, temperature=body.temperature,
                              top_p=body.top_p, seed=body.seed,
                              response_format=fmt.response_format() if fmt else None)
    params = thinking_budget(params, role.config, body.reasoning.effort if body.reasoning else None,
                             None)
    role.check(params)  # a 400 for what the role refuses, before it is asked
    req = GenerationRequest(request_id=rid, messages=body.messages(), params=params)
    builder = _Builder(new_id("resp"), body)
    if body.stream:
        stream = await role.caller.open_stream(req)
        return StreamingResponse(builder.events(stream), media_type="text/event-stream",
                                 headers=SSE_HEADERS)
    return builder.response(await role.caller.complete(req))


class _Event(BaseModel):
    """One stream event: its `type`, `sequence_number` and the fields of that type."""

    model_config = ConfigDict(extra="allow")
    type: str
    sequence_number: int


class _Builder:
    def __init__(self, rid: str, body: rp.ResponsesRequest):
        self.rid, self.body = rid, body
        self.reasoning_id, self.message_id = new_id("rs"), new_id("msg")
        self.seq = 0

    def response(self, c: Completion | None, status: str = "completed") -> rp.ResponseObject:
        b = self.body
        out = rp.ResponseObject(id=self.rid, model=b.model, status=status,
                                instructions=b.instructions, max_output_tokens=b.max_output_tokens,
                                temperature=b.temperature, top_p=b.top_p, metadata=b.metadata or {})
        if c is None:
            return out
        cut = c.finish_reason == "length"
        item_status = "incomplete" if cut else "completed"
        if c.thinking:
            out.output.append(rp.ReasoningItem(id=self.reasoning_id, status="completed",
                                               content=[rp.ReasoningText(text=c.thinking)]))
        out.output.append(rp.MessageItem(id=self.message_id, status=item_status,
                                         content=[rp.OutputText(text=c.content)]))
        out.usage = rp.ResponseUsage(
            input_tokens=c.prompt_tokens, output_tokens=c.completion_tokens,
            output_tokens_details=rp.OutputTokensDetails(reasoning_tokens=c.thinking_tokens),
            total_tokens=c.prompt_tokens + c.completion_tokens)
        if cut:
            out.status = "incomplete"
            out.incomplete_details = rp.IncompleteDetails(reason="max_output_tokens")
        return out

    def _event(self, type_: str, **fields) -> str:
        fields = {k: v.model_dump(mode="json") if isinstance(v, BaseModel) else v
                  for k, v in fields.items()}
        event = _Event(type=type_, sequence_number=self.seq, **fields)
        self.seq += 1
        return f"event: {type_}\ndata: {event.model_dump_json()}\n\n"

    async def events(self, stream: RoleStream) -> AsyncIterator[str]:
        """The documented event sequence for the role's chunks."""
        acc = Accumulator(0.0)
        yield self._event("response.created", response=self.response(None, "in_progress"))
        yield self._event("response.in_progress", response=self.response(None, "in_progress"))
        items = _Items(self)
        try:
            async for chunk in stream:
                acc.add(chunk, 0.0)
                if chunk.thinking:
                    for frame in items.delta("reasoning", chunk.thinking):
                        yield frame
                if chunk.content:
                    for frame in items.delta("message", chunk.content):
                        yield frame
        except Exception as exc:
            err = classify(exc)
            yield self._event("error", code=err.code, message=err.message, param=err.param)
            return
        done = acc.completion(self.body.model, 0.0)
        for frame in items.close(done):
            yield frame
        final = self.response(done)
        kind = "response.incomplete" if final.status == "incomplete" else "response.completed"
        yield self._event(kind, response=final)


class _Items:
    """The output items of a stream: which is open, its index, its text so far."""

    def __init__(self, builder: _Builder):
        self.b = builder
        self.open: str | None = None
        self.index = -1
        self.text = ""

    def delta(self, kind: str, text: str) -> list[str]:
        frames = []
        if self.open != kind:
            frames += self._close_open()
            frames += self._add(kind)
        self.text += text
        item_id = self._id(kind)
        name = "response.reasoning_text.delta" if kind == "reasoning" else "response.output_text.delta"
        extra = {} if kind == "reasoning" else {"logprobs": []}
        frames.append(self.b._event(name, item_id=item_id, output_index=self.index,
                                    content_index=0, delta=text, **extra))
        return frames

    def close(self, done: Completion) -> list[str]:
        if self.open == "reasoning" or self.open is None:  # the message item comes, if empty
            return self._close_open() + self._add("message") + self._close_open(done)
        return self._close_open(done)

    def _id(self, kind: str) -> str:
        return self.b.reasoning_id if kind == "reasoning" else self.b.message_id

    def _add(self, kind: str) -> list[str]:
        self.open, self.index, self.text = kind, self.index + 1, ""
        ev = self.b._event
        if kind == "reasoning":
            item = rp.ReasoningItem(id=self._id(kind), status="in_progress")
            return [ev("response.output_item.added", output_index=self.index, item=item)]
        item = rp.MessageItem(id=self._id(kind), status="in_progress")
        return [ev("response.output_item.added", output_index=self.index, item=item),
                ev("response.content_part.added", item_id=item.id, output_index=self.index,
                   content_index=0, part=rp.OutputText())]

    def _close_open(self, done: Completion | None = None) -> list[str]:
        if self.open is None:
            return []
        ev, kind, item_id = self.b._event, self.open, self._id(self.open)
        self.open = None
        if kind == "reasoning":
            text = self.text.strip()  # as the whole response has it (serve/generation.py)
            item = rp.ReasoningItem(id=item_id, content=[rp.ReasoningText(text=text)])
            return [ev("response.reasoning_text.done", item_id=item_id, output_index=self.index,
                       content_index=0, text=text),
                    ev("response.output_item.done", output_index=self.index, item=item)]
        status = "incomplete" if done is not None and done.finish_reason == "length" else "completed"
        part = rp.OutputText(text=self.text)
        item = rp.MessageItem(id=item_id, status=status, content=[part])
        return [ev("response.output_text.done", item_id=item_id, output_index=self.index,
                   content_index=0, text=self.text, logprobs=[]),
                ev("response.content_part.done", item_id=item_id, output_index=self.index,
                   content_index=0, part=part),
                ev("response.output_item.done", output_index=self.index, item=item)]
