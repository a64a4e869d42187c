"""The retry policy against a real local HTTP server, sync and async; settings from the env."""

from __future__ import annotations

import httpx
import pytest
from scripted_http import Reply

from clients import (
    APIConnectionError,
    APITimeoutError,
    AsyncClient,
    AuthenticationError,
    BadRequestError,
    Client,
    GatewayTimeoutError,
    InternalServerError,
    NotFoundError,
    RateLimitError,
    RequestTooLargeError,
    ServiceUnavailableError,
    UnsupportedMediaTypeError,
)
from clients._core import MAX_RETRY_AFTER, RetryPolicy, retry_after
from clients.errors import status_error

MODELS = {"object": "list", "data": [{"id": "base", "role": "base", "model": "m"}]}


def error_body(message: str, code: str, param: str | None = None) -> dict:
    return {"error": {"message": message, "type": "invalid_request_error", "code": code,
                      "param": param, "request_id": "req-123"}}


UNAVAILABLE = Reply(503, error_body("at capacity", "overloaded"), {"retry-after": "0.3"})


def test_503_with_retry_after_then_200(scripted):
    scripted.script(UNAVAILABLE, Reply(200, MODELS))
    with Client(scripted.url, max_retries=2) as client:
        assert client.models().data[0].model == "m"
    first, second = scripted.seen
    assert second.at - first.at >= 0.3  # the server's Retry-After was honoured


@pytest.mark.asyncio
async def test_503_with_retry_after_then_200_async(scripted):
    scripted.script(UNAVAILABLE, Reply(200, MODELS))
    async with AsyncClient(scripted.url, max_retries=2) as client:
        assert (await client.models()).data[0].model == "m"
    first, second = scripted.seen
    assert second.at - first.at >= 0.3


def check_typed(e, status: int) -> None:
    assert (e.status_code, e.code, e.param, e.request_id) == (status, "bad", "max_new_tokens",
                                                              "req-123")


NOT_RETRIED = [(400, BadRequestError), (401, AuthenticationError), (404, NotFoundError)]


@pytest.mark.parametrize("status,cls", NOT_RETRIED)
def test_client_errors_are_not_retried(scripted, status, cls):
    scripted.script(Reply(status, error_body("no", "bad", "max_new_tokens"),
                          {"x-request-id": "req-123"}), Reply(200, MODELS))
    with Client(scripted.url, max_retries=3) as client, pytest.raises(cls) as err:
        client.models()
    assert len(scripted.seen) == 1
    check_typed(err.value, status)


@pytest.mark.asyncio
@pytest.mark.parametrize("status,cls", NOT_RETRIED)
async def test_client_errors_are_not_retried_async(scripted, status, cls):
    scripted.script(Reply(status, error_body("no", "bad", "max_new_tokens"),
                          {"x-request-id": "req-123"}), Reply(200, MODELS))
    async with AsyncClient(scripted.url, max_retries=3) as client:
        with pytest.raises(cls) as err:
            await client.models()
    assert len(scripted.seen) == 1
    check_typed(err.value, status)


FAST = {"retry-after": "0"}


def test_retries_run_out(scripted):
    scripted.script(*[Reply(503, error_body("busy", "overloaded"), FAST)] * 3)
    with Client(scripted.url, max_retries=2) as client, pytest.raises(ServiceUnavailableError):
        client.models()
    assert len(scripted.seen) == 3


@pytest.mark.asyncio
async def test_retries_run_out_async(scripted):
    scripted.script(*[Reply(503, error_body("busy", "overloaded"), FAST)] * 3)
    async with AsyncClient(scripted.url, max_retries=2) as client:
        with pytest.raises(ServiceUnavailableError):
            await client.models()
    assert len(scripted.seen) == 3


# The lost connection first: it has no Retry-After, so its backoff is the shortest (≤ 0.5 s).
RETRIED = [Reply(drop=True), Reply(408, {}, FAST), Reply(429, {}, FAST), Reply(502, {}, FAST)]


def test_408_429_5xx_and_lost_connections_are_retried(scripted):
    scripted.script(*RETRIED, Reply(200, MODELS))
    with Client(scripted.url, max_retries=4) as client:
        assert client.models().data
    assert len(scripted.seen) == 5


@pytest.mark.asyncio
async def test_408_429_5xx_and_lost_connections_are_retried_async(scripted):
    scripted.script(*RETRIED, Reply(200, MODELS))
    async with AsyncClient(scripted.url, max_retries=4) as client:
        assert (await client.models()).data
    assert len(scripted.seen) == 5


ADVISED = [Reply(500, error_body("try again", "engine_error"), {"x-should-retry": "true"}),
           Reply(200, MODELS)]
NOT_ADVISED = [Reply(503, error_body("busy", "overloaded"), {"x-should-retry": "false", **FAST}),
               Reply(200, MODELS)]
TOO_LONG = [Reply(503, error_body("busy", "overloaded"), {"retry-after": "3600"}),
            Reply(200, MODELS)]


def test_the_servers_advice_and_a_too_long_wait_decide(scripted):
    scripted.script(*ADVISED)
    with Client(scripted.url, max_retries=2) as client:
        assert client.models().data and len(scripted.seen) == 2
    for replies in (NOT_ADVISED, TOO_LONG):
        scripted.script(*replies)
        with Client(scripted.url, max_retries=2) as client:
            with pytest.raises(ServiceUnavailableError):
                client.models()
        assert len(scripted.seen) == 1  # not sent again


@pytest.mark.asyncio
async def test_the_servers_advice_and_a_too_long_wait_decide_async(scripted):
    scripted.script(*ADVISED)
    async with AsyncClient(scripted.url, max_retries=2) as client:
        assert (await client.models()).data and len(scripted.seen) == 2
    for replies in (NOT_ADVISED, TOO_LONG):
        scripted.script(*replies)
        async with AsyncClient(scripted.url, max_retries=2) as client:
            with pytest.raises(ServiceUnavailableError):
                await client.models()
        assert len(scripted.seen) == 1


def test_timeout_and_unreachable(scripted):
    scripted.script(Reply(200, MODELS, delay_s=1.0))
    with Client(scripted.url, timeout=0.2, max_retries=0) as client, pytest.raises(APITimeoutError):
        client.models()
    with Client("http://127.0.0.1:9", max_retries=0) as client:
        with pytest.raises(APIConnectionError) as err:
            client.models()
    assert not isinstance(err.value, APITimeoutError) and err.value.status_code is None


@pytest.mark.asyncio
async def test_timeout_and_unreachable_async(scripted):
    scripted.script(Reply(200, MODELS, delay_s=1.0))
    async with AsyncClient(scripted.url, timeout=0.2, max_retries=0) as client:
        with pytest.raises(APITimeoutError):
            await client.models()
    async with AsyncClient("http://127.0.0.1:9", max_retries=0) as client:
        with pytest.raises(APIConnectionError) as err:
            await client.models()
    assert not isinstance(err.value, APITimeoutError) and err.value.status_code is None


BEARERS = ["Bearer sk-env", "Bearer sk-arg"]


def test_url_and_key_from_the_environment(scripted, monkeypatch):
    monkeypatch.setenv("TRISERVE_URL", scripted.url + "/")
    monkeypatch.setenv("TRISERVE_API_KEY", "sk-env")
    scripted.script(Reply(200, MODELS), Reply(200, MODELS))
    with Client() as client:
        client.models()
    with Client(api_key="sk-arg") as client:  # an argument beats the environment
        client.models()
    assert [s.headers.get("authorization") for s in scripted.seen] == BEARERS
    assert scripted.seen[0].path == "/v1/models"


@pytest.mark.asyncio
async def test_url_and_key_from_the_environment_async(scripted, monkeypatch):
    monkeypatch.setenv("TRISERVE_URL", scripted.url + "/")
    monkeypatch.setenv("TRISERVE_API_KEY", "sk-env")
    scripted.script(Reply(200, MODELS), Reply(200, MODELS))
    async with AsyncClient() as client:
        await client.models()
    async with AsyncClient(api_key="sk-arg") as client:
        await client.models()
    assert [s.headers.get("authorization") for s in scripted.seen] == BEARERS
    assert scripted.seen[0].path == "/v1/models"


# ---- the policy and the error mapping on their own ----------------------------------------------


def response(status: int, **headers) -> httpx.Response:
    return httpx.Response(status, headers=headers, request=httpx.Request("GET", "http://x/"))


def test_backoff_is_exponential_with_full_jitter():
    policy = RetryPolicy(max_retries=6, initial=0.5, cap=4.0)
    for attempt, ceiling in [(0, 0.5), (1, 1.0), (2, 2.0), (3, 4.0), (5, 4.0)]:
        delays = [policy.delay(attempt) for _ in range(200)]
        assert all(0 <= d <= ceiling for d in delays)
        assert max(delays) > ceiling * 0.7 and min(delays) < ceiling * 0.3  # spread, not fixed
    assert policy.delay(6) is None  # retries used up


def test_retry_after_is_honoured_and_a_longer_one_than_the_limit_is_not_retried():
    policy = RetryPolicy(max_retries=2)
    assert policy.delay(0, response(503, **{"retry-after": "2"})) == 2.0
    assert policy.delay(0, response(429, **{"retry-after-ms": "250"})) == 0.25
    assert policy.delay(0, response(503, **{"retry-after": str(MAX_RETRY_AFTER)})) == MAX_RETRY_AFTER
    assert policy.delay(0, response(503, **{"retry-after": "86400"})) is None
    assert policy.delay(0, response(400, **{"retry-after": "1"})) is None


def test_the_servers_retry_advice_comes_before_the_status_rules():
    policy = RetryPolicy(max_retries=2)
    assert policy.delay(0, response(500, **{"x-should-retry": "false"})) is None
    assert policy.delay(0, response(503, **{"x-should-retry": "false", "retry-after": "1"})) is None
    assert policy.delay(0, response(409, **{"x-should-retry": "true", "retry-after": "1"})) == 1.0
    assert 0 <= policy.delay(0, response(400, **{"x-should-retry": "true"})) <= 0.5
    assert policy.delay(0, response(400, **{"x-should-retry": "maybe"})) is None  # rules then
    assert retry_after({"retry-after": "Wed, 21 Oct 2015 07:28:00 GMT"}) == 0.0  # a past date
    assert retry_after({"retry-after": "soon"}) is None


@pytest.mark.parametrize("status,cls", [
    (400, BadRequestError), (401, AuthenticationError), (404, NotFoundError),
    (413, RequestTooLargeError), (415, UnsupportedMediaTypeError), (429, RateLimitError),
    (500, InternalServerError), (502, InternalServerError), (503, ServiceUnavailableError),
    (504, GatewayTimeoutError),
])
def test_status_maps_to_its_error(status, cls):
    err = status_error(httpx.Response(status, text="<html>proxy</html>",
                                      request=httpx.Request("GET", "http://x/")))
    assert type(err) is cls and err.status_code == status and err.body == "<html>proxy</html>"
    assert isinstance(err, InternalServerError) == (status >= 500)
