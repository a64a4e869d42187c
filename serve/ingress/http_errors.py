"""The one place that turns exceptions into HTTP error responses (`{"error": {...}}`).

Validation → 400 naming `param`; our typed errors → their status (a 503 with `Retry-After`), each
with `x-should-retry` (the error's `retryable`: true for 503 and 504, false for the rest);
anything else is first made one of ours by `ray_errors.classify` (Ray's back-pressure and a
dead replica → 503; anything unexpected → 500 with the message masked and the request id kept,
so the log line can be found).
"""

from __future__ import annotations

import uuid

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from serve.errors import (
    BodyTooLarge,
    InvalidRequest,
    NotFound,
    TriserveError,
    UnsupportedMediaType,
)
from serve.api.protocol import ErrorInfo, ErrorResponse
from serve.ingress.ray_errors import classify


RETRY_AFTER_S = 1


def request_id(request: Request) -> str:
    rid = getattr(request.state, "request_id", None)
    if rid is None:
        rid = request.headers.get("x-request-id") or uuid.uuid4().hex
        request.state.request_id = rid
    return rid


def error_info(exc: TriserveError, rid: str | None) -> ErrorInfo:
    return ErrorInfo(
        message=exc.message, type=exc.type, code=exc.code, param=exc.param, request_id=rid
    )


def error_response(exc: TriserveError, rid: str | None) -> JSONResponse:
    from serve.metrics import ingress_metrics

    ingress_metrics().errors.inc(tags={"status": str(exc.status), "code": exc.code or ""})
    # Ray Serve's proxy adds x-request-id to every response.
    headers = {"x-should-retry": "true" if exc.retryable else "false"}
    if exc.status == 503:
        headers["retry-after"] = str(RETRY_AFTER_S)
    if exc.status == 401:
        headers["www-authenticate"] = "Bearer"
    body = ErrorResponse(error=error_info(exc, rid))
    return JSONResponse(body.model_dump(), status_code=exc.status, headers=headers)


def _body_path(loc: tuple, body, kind: str) -> list[str]:
    """The parts of a pydantic error's `loc` that are places in the request body. A union's
    members add their own tags (`tool_choice.literal['none','auto']`, `prompt.str`), which name
    nothing the client sent; a missing field's name is kept though it is not in the body."""
    parts, value = [], body
    for i, part in enumerate(loc):
        if isinstance(value, dict) and part in value:
            value = value[part]
        elif isinstance(value, list) and isinstance(part, int) and 0 <= part < len(value):
            value = value[part]
        elif not (kind == "missing" and i == len(loc) - 1) and part != "[key]":
            continue
        parts.append(str(part))
    return parts


def _validation_error(exc: RequestValidationError) -> TriserveError:
    first = exc.errors()[0]
    raw = tuple(first.get("loc", ()))
    loc = _body_path(raw[1:], exc.body, first.get("type", "")) if raw[:1] == ("body",) and \
        isinstance(exc.body, (dict, list)) else [str(part) for part in raw if part != "body"]
    kind = first.get("type", "invalid_value")
    if kind == "json_invalid":
        return InvalidRequest("the body is not valid JSON", code="invalid_json")
    param = ".".join(loc) or None
    message = first.get("msg", "invalid value").removeprefix("Value error, ")
    if kind == "extra_forbidden":
        message = f"unknown field '{param}'"
    elif kind == "missing":
        message = f"'{param}' is required"
    elif param:
        message = f"{param}: {message}"
    return InvalidRequest(message, param=param, code=kind)


_HTTP_STATUS = {404: NotFound, 413: BodyTooLarge, 415: UnsupportedMediaType}


def install(app: FastAPI) -> None:
    @app.exception_handler(RequestValidationError)
    async def _on_validation(request: Request, exc: RequestValidationError):
        return error_response(_validation_error(exc), request_id(request))

    @app.exception_handler(StarletteHTTPException)
    async def _on_http(request: Request, exc: StarletteHTTPException):
        cls = _HTTP_STATUS.get(exc.status_code)
        err = cls(str(exc.detail), code="not_found" if exc.status_code == 404 else None) if cls \
            else InvalidRequest(str(exc.detail), code=f"http_{exc.status_code}")
        err.status = exc.status_code
        return error_response(err, request_id(request))

    @app.exception_handler(TriserveError)
    async def _on_ours(request: Request, exc: TriserveError):
        return error_response(exc, request_id(request))

    @app.exception_handler(Exception)
    async def _on_error(request: Request, exc: Exception):
        return error_response(classify(exc), request_id(request))
