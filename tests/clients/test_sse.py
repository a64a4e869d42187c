"""The one SSE decoder (clients/sse.py) that the SDK, `triserve bench`, Locust and the
benchmarks read streams with."""

from __future__ import annotations

import asyncio

from clients.sse import DONE, SSEDecoder, asse_data, frame_error, sse_data

LINES = ["data: {\"a\": 1}", "", ": keep-alive", "", "event: x", "id: 7", "data: one",
         "data:two", "", "", "data: [DONE]", "", "data: cut short"]
EVENTS = ['{"a": 1}', "one\ntwo", DONE]  # the last event never ended: dropped, as the spec says


def test_events_comments_and_multiline_data():
    assert list(sse_data(LINES)) == EVENTS


def test_async_twin():
    async def lines():
        for line in LINES:
            yield line

    async def collect():
        return [d async for d in asse_data(lines())]

    assert asyncio.run(collect()) == EVENTS


def test_decoder_fed_line_by_line():
    decoder = SSEDecoder()
    assert decoder.feed("data: x") is None and decoder.feed("") == "x"
    assert decoder.feed("") is None  # a blank line with nothing before it is no event


def test_error_frames():
    assert frame_error({"error": {"message": "boom"}}) == {"message": "boom"}
    assert frame_error({"error": None}) is None and frame_error([1]) is None
