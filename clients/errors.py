"""The SDK's errors, mirroring openai-python: one class per HTTP status, connection errors apart.

    APIError
    ├── APIConnectionError          the server could not be reached (refused, reset, DNS …)
    │   └── APITimeoutError         no answer within `timeout`
    ├── APIStreamError              an `{"error": …}` frame arrived after a stream had started
    └── APIStatusError              the server answered with a 4xx/5xx status
        ├── BadRequestError             400
        ├── AuthenticationError         401
        ├── NotFoundError               404
        ├── RequestTimeoutError         408
        ├── RequestTooLargeError        413
        ├── UnsupportedMediaTypeError   415
        ├── UnprocessableEntityError    422
        ├── RateLimitError              429
        └── InternalServerError         5xx
            ├── ServiceUnavailableError     503
            └── GatewayTimeoutError         504

Every error carries `status_code` (None without a response), `request_id`, `code`, `param`, `body`.

    >>> try:
    ...     client.compare("hi", roles=["nope"])
    ... except NotFoundError as e:
    ...     print(e.status_code, e.param, e.request_id)
    404 roles 3f2a…
"""

from __future__ import annotations

from typing import Any

import httpx

__all__ = [
    "APIError",
    "APIConnectionError",
    "APITimeoutError",
    "APIStreamError",
    "APIStatusError",
    "BadRequestError",
    "AuthenticationError",
    "NotFoundError",
    "RequestTimeoutError",
    "RequestTooLargeError",
    "UnsupportedMediaTypeError",
    "UnprocessableEntityError",
    "RateLimitError",
    "InternalServerError",
    "ServiceUnavailableError",
    "GatewayTimeoutError",
]


class APIError(Exception):
    status_code: int | None = None

    def __init__(
        self,
        message: str,
        *,
        request: httpx.Request | None = None,
        body: Any = None,
        request_id: str | None = None,
    ):
        super().__init__(message)
        self.message = message
        self.request = request
        self.body = body
        info = _error_info(body)
        self.code: str | None = info.get("code")
        self.param: str | None = info.get("param")
        self.type: str | None = info.get("type")
        self.request_id = info.get("request_id") or request_id


class APIConnectionError(APIError):
    def __init__(self, *, request: httpx.Request | None = None, message: str | None = None):
        where = f" at {request.url.copy_with(query=None)}" if request is not None else ""
        super().__init__(message or f"could not connect to the triserve server{where}",
                         request=request)


class APITimeoutError(APIConnectionError):
    def __init__(self, *, request: httpx.Request | None = None):
        super().__init__(request=request, message="the request timed out")


class APIStreamError(APIError):
    """The server reported an error inside a stream that had already begun (HTTP 200)."""


class APIStatusError(APIError):
    def __init__(self, message: str, *, response: httpx.Response, body: Any):
        super().__init__(message, request=response.request, body=body,
                         request_id=header_request_id(response))
        self.response = response
        self.status_code = response.status_code


class BadRequestError(APIStatusError):
    status_code = 400


class AuthenticationError(APIStatusError):
    status_code = 401


class NotFoundError(APIStatusError):
    status_code = 404


class RequestTimeoutError(APIStatusError):
    status_code = 408


class RequestTooLargeError(APIStatusError):
    status_code = 413


class UnsupportedMediaTypeError(APIStatusError):
    status_code = 415


class UnprocessableEntityError(APIStatusError):
    status_code = 422


class RateLimitError(APIStatusError):
    status_code = 429


class InternalServerError(APIStatusError):
    pass  # any 5xx without a class of its own


class ServiceUnavailableError(InternalServerError):
    status_code = 503


class GatewayTimeoutError(InternalServerError):
    status_code = 504


_BY_STATUS: dict[int, type[APIStatusError]] = {
    cls.status_code: cls
    for cls in (BadRequestError, AuthenticationError, NotFoundError, RequestTimeoutError,
                RequestTooLargeError, UnsupportedMediaTypeError, UnprocessableEntityError,
                RateLimitError, ServiceUnavailableError, GatewayTimeoutError)
}


def status_error(response: httpx.Response) -> APIStatusError:
    """The typed error for a read response whose status is 4xx/5xx."""
    try:
        body: Any = response.json()
    except ValueError:
        body = response.text or None
    info = _error_info(body)
    message = info.get("message") or (body if isinstance(body, str) else None) \
        or response.reason_phrase or "error"
    cls = _BY_STATUS.get(response.status_code)
    if cls is None:
        cls = InternalServerError if response.status_code >= 500 else APIStatusError
    return cls(f"{response.status_code} {message}", response=response, body=body)


def header_request_id(response: httpx.Response) -> str | None:
    # Serve's proxy and the app may both set the header; httpx would join the two with ", ".
    ids = response.headers.get_list("x-request-id")
    return ids[0] if ids else None


def _error_info(body: Any) -> dict:
    """The `error` object of our one error shape, or {} for any other body."""
    if isinstance(body, dict) and isinstance(body.get("error"), dict):
        return body["error"]
    return {}
