"""ASGI middleware in front of every route: request id, API key, JSON-only bodies, body limit.

Pure ASGI (not BaseHTTPMiddleware) so that streaming responses pass through untouched and an
oversized body is refused while it arrives, not after it has been read into memory.
"""

from __future__ import annotations

import uuid

from serve.errors import BodyTooLarge, TriserveError, UnsupportedMediaType
from serve.ingress.auth import check_bearer, is_public
from serve.ingress.http_errors import error_response

_BODY_METHODS = {"POST", "PUT", "PATCH"}


class GuardSettings:
    """Set by the ingress when it starts (the middleware is built before the config is known)."""

    max_body_bytes = 1_000_000
    api_keys: tuple[bytes, ...] = ()


class RequestGuard:
    def __init__(self, app, settings: GuardSettings):
        self.app = app
        self.settings = settings

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        headers = {k.lower(): v for k, v in scope.get("headers", [])}
        # Ray Serve's proxy puts its request id in x-request-id (and on the response); keep it.
        rid = headers.get(b"x-request-id", b"").decode("latin-1") or uuid.uuid4().hex
        scope.setdefault("state", {})["request_id"] = rid

        if self.settings.api_keys and not is_public(_route_path(scope)):
            try:
                check_bearer(headers.get(b"authorization"), self.settings.api_keys)
            except TriserveError as exc:
                return await error_response(exc, rid)(scope, receive, send)
        if scope["method"] not in _BODY_METHODS:
            return await self.app(scope, receive, send)
        refusal = self._check_headers(headers)
        if refusal is not None:
            return await error_response(refusal, rid)(scope, receive, send)

        limit = self.settings.max_body_bytes
        received = 0

        async def limited_receive():
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise BodyTooLarge(f"the body is over the {limit}-byte limit")
            return message

        await self.app(scope, limited_receive, send)

    def _check_headers(self, headers: dict) -> TriserveError | None:
        ctype = headers.get(b"content-type", b"").split(b";")[0].strip().lower()
        if ctype != b"application/json" and not ctype.endswith(b"+json"):
            shown = ctype.decode("latin-1") or "none"
            return UnsupportedMediaType(
                f"send the body as JSON with content-type: application/json (got {shown})",
                param="content-type",
            )
        length = headers.get(b"content-length")
        limit = self.settings.max_body_bytes
        if length is not None and length.isdigit() and int(length) > limit:
            return BodyTooLarge(f"the body is {int(length)} bytes; the limit is {limit}")
        return None


def _route_path(scope) -> str:
    """The path below the app's route prefix (Serve mounts an app at its route_prefix)."""
    path, root = scope.get("path", ""), scope.get("root_path", "")
    if root and path.startswith(root):
        return path[len(root):] or "/"
    return path
