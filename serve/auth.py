"""API keys: where they come from, and the constant-time check of a bearer token.

Keys are read once when the ingress starts (from the env var and/or the file the config names)
and never logged. With no key configured, the API is open.
"""

from __future__ import annotations

import hmac
import os
from pathlib import Path

from serve.config import IngressConfig
from serve.errors import AuthenticationFailed

# Open without a key: liveness for load balancers, and the page and its assets, which hold no
# data (the page asks for the key and sends it with every API call).
PUBLIC_PATHS = frozenset({"/healthz", "/", "/favicon.ico"})
PUBLIC_PREFIXES = ("/static/",)


def load_keys(config: IngressConfig) -> tuple[bytes, ...]:
    keys: list[str] = []
    if config.api_keys_env:
        keys += os.environ.get(config.api_keys_env, "").split(",")
    if config.api_keys_file:
        for line in Path(config.api_keys_file).expanduser().read_text().splitlines():
            if not line.lstrip().startswith("#"):
                keys.append(line)
    return tuple(k.strip().encode() for k in keys if k.strip())


def is_public(path: str) -> bool:
    return path in PUBLIC_PATHS or path.startswith(PUBLIC_PREFIXES)


def check_bearer(authorization: bytes | None, keys: tuple[bytes, ...]) -> None:
    """Raises AuthenticationFailed unless the header carries one of the keys."""
    if not authorization:
        raise AuthenticationFailed("an API key is required: send Authorization: Bearer <key>")
    scheme, _, token = authorization.partition(b" ")
    if scheme.lower() != b"bearer" or not token.strip():
        raise AuthenticationFailed("send the API key as Authorization: Bearer <key>")
    token = token.strip()
    # Compare against every key, whatever matched: the time taken says nothing about the keys.
    matched = False
    for key in keys:
        matched |= hmac.compare_digest(token, key)
    if not matched:
        raise AuthenticationFailed("the API key is not valid")
