"""Typed errors that cross the replica → ingress boundary and map to one HTTP error shape.

They pickle by their fields so that Ray can carry them from a model replica to the ingress,
where `serve/ingress/http_errors.py` turns them into responses. No ray or torch here.
"""

from __future__ import annotations


class TriserveError(Exception):
    status = 500
    type = "server_error"
    code: str | None = None
    # Whether the same request may succeed if sent again (the `x-should-retry` header clients
    # read before their own rules, as openai-python does): yes when the server is busy or a role
    # has no replica yet, or a deadline passed; never for bad input or a failed generation.
    retryable = False

    def __init__(self, message: str, *, param: str | None = None, code: str | None = None):
        super().__init__(message)
        self.message = message
        self.param = param
        if code is not None:
            self.code = code

    def __reduce__(self):
        return (_rebuild, (type(self), self.message, self.param, self.code))


def _rebuild(cls, message, param, code):
    return cls(message, param=param, code=code)


class InvalidRequest(TriserveError):
    status = 400
    type = "invalid_request_error"
    code = "invalid_value"


class AuthenticationFailed(TriserveError):
    status = 401
    type = "authentication_error"
    code = "invalid_api_key"


class NotFound(TriserveError):
    status = 404
    type = "invalid_request_error"
    code = "model_not_found"


class BodyTooLarge(TriserveError):
    status = 413
    type = "invalid_request_error"
    code = "body_too_large"


class UnsupportedMediaType(TriserveError):
    status = 415
    type = "invalid_request_error"
    code = "unsupported_media_type"


class UpstreamTimeout(TriserveError):
    status = 504
    retryable = True
    type = "timeout_error"
    code = "timeout"


class Unavailable(TriserveError):
    status = 503
    retryable = True
    type = "overloaded_error"
    code = "unavailable"


class EngineFailure(TriserveError):
    status = 500
    type = "server_error"
    code = "engine_error"


class EngineDead(Unavailable):
    """The role's engine died in this replica; a replacement replica is on its way (503 with
    Retry-After, the code of a role with no running replica)."""

    code = "no_replica"
