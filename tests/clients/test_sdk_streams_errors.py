"""Typed errors from the real server, and streams that leave no connection in use after an
error, after an early stop, or when the server fails mid-stream. Sync and async twins."""

from __future__ import annotations

import httpx
import pytest
from pydantic import ValidationError

from clients import (
    APIStreamError,
    AsyncClient,
    AuthenticationError,
    BadRequestError,
    Client,
    InternalServerError,
    NotFoundError,
)

FAULTY_KEY = "sk-clients-test"  # the key the faulty_app fixture's server accepts


def check_not_found(err: NotFoundError) -> None:
    assert err.status_code == 404 and err.code == "model_not_found" and err.param == "roles"
    assert err.request_id and err.body["error"]["request_id"] == err.request_id
    assert "nope" in err.message


def check_bad_request(err: BadRequestError) -> None:
    assert err.status_code == 400 and err.param == "max_new_tokens" and err.code == "above_cap"


def test_errors_are_typed(tiny_app, busy_connections):
    with Client(tiny_app, max_retries=3) as client:
        with pytest.raises(NotFoundError) as nf:
            client.compare("hi", roles=["nope"])
        check_not_found(nf.value)
        with pytest.raises(BadRequestError) as br:  # over the role's cap of 64
            client.compare("hi", params={"max_new_tokens": 1000})
        check_bad_request(br.value)
        with pytest.raises(ValidationError):  # refused before sending: the wire model says so
            client.compare("hi", params={"temperature": -1})
        assert busy_connections(client) == 0


@pytest.mark.asyncio
async def test_errors_are_typed_async(tiny_app, busy_connections):
    async with AsyncClient(tiny_app, max_retries=3) as client:
        with pytest.raises(NotFoundError) as nf:
            await client.compare("hi", roles=["nope"])
        check_not_found(nf.value)
        with pytest.raises(BadRequestError) as br:
            await client.compare("hi", params={"max_new_tokens": 1000})
        check_bad_request(br.value)
        with pytest.raises(ValidationError):
            await client.compare("hi", params={"temperature": -1})
        assert busy_connections(client) == 0


def test_stream_error_before_start_leaves_no_connection(tiny_app, busy_connections):
    with Client(tiny_app) as client:
        with pytest.raises(NotFoundError):
            client.compare_stream("hi", roles=["nope"])
        with pytest.raises(NotFoundError):
            client.chat("nope", [{"role": "user", "content": "hi"}], stream=True)
        assert busy_connections(client) == 0


@pytest.mark.asyncio
async def test_stream_error_before_start_leaves_no_connection_async(tiny_app, busy_connections):
    async with AsyncClient(tiny_app) as client:
        with pytest.raises(NotFoundError):
            await client.compare_stream("hi", roles=["nope"])
        with pytest.raises(NotFoundError):
            await client.chat("nope", [{"role": "user", "content": "hi"}], stream=True)
        assert busy_connections(client) == 0


def test_early_break_closes(tiny_app, busy_connections):
    with Client(tiny_app) as client:
        with client.compare_stream("hello") as stream:
            for event in stream:
                break
        assert event.type == "delta"
        assert stream.response.is_closed and busy_connections(client) == 0
        # The client is still usable afterwards.
        assert client.compare("hello", roles=["base"], params={"max_new_tokens": 2}).results


@pytest.mark.asyncio
async def test_early_break_closes_async(tiny_app, busy_connections):
    async with AsyncClient(tiny_app) as client:
        async with await client.compare_stream("hello") as stream:
            async for event in stream:
                break
        assert event.type == "delta"
        assert stream.response.is_closed and busy_connections(client) == 0
        assert (await client.compare("hello", roles=["base"], params={"max_new_tokens": 2})).results


def test_early_break_on_a_slow_stream_closes_at_once(faulty_app, busy_connections):
    # 200 tokens at 20 ms each: leaving after two means leaving a stream still producing.
    with Client(faulty_app, api_key=FAULTY_KEY) as client:
        with client.chat("reasoning", [{"role": "user", "content": "go"}], stream=True) as stream:
            chunks = [next(stream), next(stream)]
        assert chunks[1].choices[0].delta.content == "tick "
        assert stream.response.is_closed and busy_connections(client) == 0


@pytest.mark.asyncio
async def test_early_break_on_a_slow_stream_closes_at_once_async(faulty_app, busy_connections):
    async with AsyncClient(faulty_app, api_key=FAULTY_KEY) as client:
        stream = await client.chat("reasoning", [{"role": "user", "content": "go"}], stream=True)
        async with stream:
            chunks = [await stream.__anext__(), await stream.__anext__()]
        assert chunks[1].choices[0].delta.content == "tick "
        assert stream.response.is_closed and busy_connections(client) == 0


def check_stream_error(err: APIStreamError) -> None:
    assert err.code == "engine_error" and err.message  # the server may mask the engine's text
    assert err.status_code is None  # the stream had started: HTTP 200, then an error frame


def test_error_inside_stream_raises_and_closes(faulty_app, busy_connections):
    with Client(faulty_app, api_key=FAULTY_KEY) as client:
        stream = client.chat("instruct", [{"role": "user", "content": "go"}], stream=True)
        with pytest.raises(APIStreamError) as err:
            for _ in stream:  # no `with`: the iterator itself closes the response
                pass
        check_stream_error(err.value)
        assert stream.response.is_closed and busy_connections(client) == 0
        # In a comparison, the failing role is an error result; the others answer.
        result = client.compare("go", params={"max_new_tokens": 3})
        assert result.result("instruct").error.code == "engine_error"
        assert result.result("reasoning").usage.completion_tokens == 3


@pytest.mark.asyncio
async def test_error_inside_stream_raises_and_closes_async(faulty_app, busy_connections):
    async with AsyncClient(faulty_app, api_key=FAULTY_KEY) as client:
        stream = await client.chat("instruct", [{"role": "user", "content": "go"}], stream=True)
        with pytest.raises(APIStreamError) as err:
            async for _ in stream:
                pass
        check_stream_error(err.value)
        assert stream.response.is_closed and busy_connections(client) == 0
        result = await client.compare("go", params={"max_new_tokens": 3})
        assert result.result("instruct").error.code == "engine_error"
        assert result.result("reasoning").usage.completion_tokens == 3


def check_refused(err: AuthenticationError) -> None:
    assert err.status_code == 401 and err.code == "invalid_api_key" and err.request_id
    assert err.response.headers["www-authenticate"] == "Bearer"
    assert err.response.headers["x-should-retry"] == "false"


def check_not_retried(err: InternalServerError, sent: list) -> None:
    """A failed generation is a 500 the server advises against sending again, and the SDK,
    which would retry a bare 500, follows the advice."""
    assert err.status_code == 500 and err.code == "engine_error"
    assert err.response.headers["x-should-retry"] == "false" and len(sent) == 1


def test_an_engine_error_is_not_sent_again(faulty_app):
    sent = []
    http = httpx.Client(timeout=30, event_hooks={"request": [sent.append]})
    with Client(faulty_app, api_key=FAULTY_KEY, max_retries=3, http_client=http) as client:
        with pytest.raises(InternalServerError) as err:
            client.chat("instruct", [{"role": "user", "content": "go"}])
    check_not_retried(err.value, sent)


@pytest.mark.asyncio
async def test_an_engine_error_is_not_sent_again_async(faulty_app):
    sent = []

    async def seen(request):
        sent.append(request)

    http = httpx.AsyncClient(timeout=30, event_hooks={"request": [seen]})
    async with AsyncClient(faulty_app, api_key=FAULTY_KEY, max_retries=3, http_client=http) as client:
        with pytest.raises(InternalServerError) as err:
            await client.chat("instruct", [{"role": "user", "content": "go"}])
    check_not_retried(err.value, sent)


def test_wrong_or_missing_key_is_refused_at_once(faulty_app, busy_connections):
    with Client(faulty_app, api_key="sk-wrong", max_retries=3) as client:
        with pytest.raises(AuthenticationError) as err:
            client.compare("go")
        check_refused(err.value)
        with pytest.raises(AuthenticationError):
            client.compare_stream("go")
        assert client.health().status == "ok"  # /healthz stays open without a key
        assert busy_connections(client) == 0
    with Client(faulty_app, api_key="") as client, pytest.raises(AuthenticationError):
        client.models()


@pytest.mark.asyncio
async def test_wrong_or_missing_key_is_refused_at_once_async(faulty_app, busy_connections):
    async with AsyncClient(faulty_app, api_key="sk-wrong", max_retries=3) as client:
        with pytest.raises(AuthenticationError) as err:
            await client.compare("go")
        check_refused(err.value)
        with pytest.raises(AuthenticationError):
            await client.compare_stream("go")
        assert (await client.health()).status == "ok"
        assert busy_connections(client) == 0
    async with AsyncClient(faulty_app, api_key="") as client:
        with pytest.raises(AuthenticationError):
            await client.models()
