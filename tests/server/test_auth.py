"""API keys: from an env var and a file; every route but /healthz (and the page) needs one."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from serving import deploy

from apps import scripted_role
from serve.errors import AuthenticationFailed
from serve.ingress.auth import check_bearer

FILE_KEY, ENV_KEY = "sk-file-key-never-logged-41", "sk-env-key-never-logged-42"


@pytest.fixture(scope="module")
def secured(serve_instance, tmp_path_factory):
    keys = tmp_path_factory.mktemp("keys") / "keys.txt"
    keys.write_text(f"# one key a line\n{FILE_KEY}\n")
    # The env var is set before Ray starts (tests/conftest.py), as on a real node.
    args = {"roles": {"base": scripted_role()},
            "ingress": {"api_keys_file": str(keys), "api_keys_env": "TRISERVE_TEST_KEYS"}}
    url = deploy("secured", args, serve_instance)
    yield url
    from ray import serve
    serve.delete("secured")


CHAT = {"model": "base", "messages": [{"role": "user", "content": "hi"}]}
ROUTES = [("POST", "/v1/compare", {"prompt": "hi"}), ("POST", "/v1/chat/completions", CHAT),
          ("POST", "/v1/completions", {"model": "base", "prompt": "hi"}), ("GET", "/v1/models", None),
          ("GET", "/openapi.json", None), ("GET", "/docs", None)]


@pytest.mark.parametrize("method,path,body", ROUTES, ids=[r[1] for r in ROUTES])
@pytest.mark.parametrize("header", [None, "Bearer wrong", f"Basic {FILE_KEY}", "Bearer"])
def test_without_a_valid_key_every_route_answers_401(secured, method, path, body, header):
    headers = {"authorization": header} if header else {}
    r = httpx.request(method, secured + path, json=body, headers=headers, timeout=30)
    assert r.status_code == 401
    assert r.headers["www-authenticate"] == "Bearer"
    err = r.json()["error"]
    assert err["type"] == "authentication_error" and err["code"] == "invalid_api_key"
    assert FILE_KEY not in r.text


@pytest.mark.parametrize("key", [FILE_KEY, ENV_KEY])
@pytest.mark.parametrize("method,path,body", ROUTES[:4], ids=[r[1] for r in ROUTES[:4]])
def test_keys_from_the_file_and_the_env_var_are_accepted(secured, key, method, path, body):
    r = httpx.request(method, secured + path, json=body,
                      headers={"authorization": f"Bearer {key}"}, timeout=30)
    assert r.status_code == 200, r.text


def test_health_and_page_need_no_key(secured):
    assert httpx.get(f"{secured}/healthz", timeout=30).status_code == 200
    assert httpx.get(f"{secured}/", timeout=30).status_code != 401


def test_keys_are_never_logged(secured):
    import ray

    for key in (FILE_KEY, "sk-wrong-key-never-logged-43"):
        httpx.post(f"{secured}/v1/compare", json={"prompt": "hi"},
                   headers={"authorization": f"Bearer {key}"}, timeout=30)
    logs = Path(ray._private.worker._global_node.get_session_dir_path()) / "logs"
    for path in logs.rglob("*"):
        if path.is_file():
            text = path.read_bytes()
            assert b"never-logged" not in text, path


def test_bearer_check_compares_against_every_key():
    keys = (b"alpha", b"beta")
    check_bearer(b"Bearer beta", keys)
    check_bearer(b"bearer alpha", keys)
    for bad in (None, b"", b"Bearer", b"Token beta", b"Bearer gamma", b"Bearer alph"):
        with pytest.raises(AuthenticationFailed):
            check_bearer(bad, keys)


def test_a_key_file_that_is_missing_stops_the_ingress(tmp_path):
    from serve.ingress.auth import load_keys
    from serve.config import IngressConfig

    with pytest.raises(FileNotFoundError, match="api_keys_file"):
        load_keys(IngressConfig(api_keys_file=str(tmp_path / "absent")))
