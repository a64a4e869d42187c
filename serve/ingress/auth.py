"""API keys: where they come from, and the constant-time check of a bearer token.

Keys are read once when the ingress starts (from the env var and/or the file the config names)
and never logged. With no key configured, the API is open: an ingress whose proxies listen beyond
loopback then says so loudly (a WARNING at start and `warnings` in `/healthz`), unless the config
says `allow_unauthenticated: true`.
"""

from __future__ import annotations

import hmac
import ipaddress
import os
from pathlib import Path

from serve.config import IngressConfig
from serve.errors import AuthenticationFailed

# Open without a key: liveness for load balancers, and the page and its assets, which hold no
# data (the page asks for the key and sends it with every API call).
PUBLIC_PATHS = frozenset({"/healthz", "/", "/favicon.ico"})
PUBLIC_PREFIXES = ("/static/",)


def load_keys(config: IngressConfig) -> tuple[bytes, ...]:
    """The API keys from the env var and the file the config names. A named file that does not
    exist stops the ingress: an API left open by a missing secret would be worse."""
    keys: list[str] = []
    if config.api_keys_env:
        keys += os.environ.get(config.api_keys_env, "").split(",")
    if config.api_keys_file:
        path = Path(config.api_keys_file).expanduser()
        if not path.is_file():
            raise FileNotFoundError(f"ingress.api_keys_file: no file at {path}")
        for line in path.read_text().splitlines():
            if not line.lstrip().startswith("#"):
                keys.append(line)
    return tuple(k.strip().encode() for k in keys if k.strip())


def http_host() -> str | None:
    """The host Serve's HTTP proxies bind (`http_options.host` of the Serve config), as Serve's
    controller holds it; None when it cannot be learnt."""
    try:
        # Serve has no public API for its HTTP options inside a replica; the controller client
        # (the one `serve.status()` uses) caches them.
        from ray.serve.context import _get_global_client

        client = _get_global_client(raise_if_no_controller_running=False)
        return None if client is None else client.http_config.host
    except Exception:
        return None


def is_loopback(host: str | None) -> bool:
    """Whether only this machine can reach `host` (127.0.0.0/8, ::1, localhost)."""
    if not host:
        return False
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:  # a host name: it may resolve to any interface
        return False


def exposure_warnings(config: IngressConfig, keys: tuple[bytes, ...], host: str | None) -> list[str]:
    """What an operator must hear about: an API open to the network (no key, a non-loopback
    bind host, and no `allow_unauthenticated: true`)."""
    if keys or config.allow_unauthenticated or is_loopback(host):
        return []
    where = f"on {host}" if host else "on an address this ingress cannot learn"
    sources = " or ".join(f"{name} ({value})" for name, value in (
        ("ingress.api_keys_env", config.api_keys_env), ("ingress.api_keys_file", config.api_keys_file))
        if value) or "ingress.api_keys_env or ingress.api_keys_file"
    return [f"the API listens {where} with no API key: anyone who reaches the port can use the "
            f"models. Set a key through {sources}, or set ingress.allow_unauthenticated: true "
            "if this is intended."]


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
