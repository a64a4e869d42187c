"""Faults: a replica killed mid-request, an engine turning unhealthy, a client that goes away,
and a redeploy under load. Every request sent is answered, with its text or with an error."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path

import httpx
import pytest
import ray
from serving import deploy, driver_handle
from ray import serve

from apps import scripted_role
from ledger import record, write

SLOW = [f" w{i}" for i in range(20)]  # 20 steps × 0.25 s = 5 s


def app_args(tmp: Path, served="scripted") -> dict:
    return {"roles": {
        "base": scripted_role(tokens=["fast", " answer"]),
        "instruct": {**scripted_role(tokens=SLOW, token_s=0.25), "served_model_name": served},
        "reasoning": scripted_role(unhealthy_file=str(tmp / "sick")),
    }}


OPTIONS = {"Reasoning": {"health_check_period_s": 1, "health_check_timeout_s": 5},
           "Instruct": {"graceful_shutdown_timeout_s": 30}}


@pytest.fixture(scope="module")
def faults(serve_instance, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("faults")
    url = deploy("faults", app_args(tmp), serve_instance, OPTIONS)
    yield url, tmp
    write()
    serve.delete("faults")


def replicas(deployment: str) -> list[str]:
    """Names of the deployment's live replica actors (from the GCS: no dashboard needed)."""
    prefix = f"SERVE_REPLICA::faults#{deployment}#"
    named = ray.util.list_named_actors(all_namespaces=True)
    return sorted(a["name"] for a in named if a["name"].startswith(prefix))


def compare(url, body, timeout=60):
    return httpx.post(f"{url}/v1/compare", json=body, timeout=timeout)


def wait_until(check, timeout_s=90, what=""):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            if check():
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    raise TimeoutError(what)


def test_replica_killed_mid_request_fails_that_role_only_and_is_replaced(faults):
    url, _ = faults
    (victim,) = replicas("Instruct")
    chat = {"model": "instruct", "messages": [{"role": "user", "content": "hi"}]}
    answers: list = []

    def send(path, body):
        start = time.perf_counter()
        try:
            r = httpx.post(url + path, json=body, timeout=60)
            answers.append((path, r, time.perf_counter() - start))
        except httpx.HTTPError as exc:  # would be a request lost without an answer
            answers.append((path, exc, time.perf_counter() - start))

    calls = [("/v1/compare", {"prompt": "hi", "roles": ["base", "instruct"]})] * 4 + \
        [("/v1/chat/completions", chat)] * 2
    callers = [threading.Thread(target=send, args=call) for call in calls]
    for caller in callers:
        caller.start()
    time.sleep(1.5)
    ray.kill(ray.get_actor(victim, namespace="serve"), no_restart=True)
    for caller in callers:
        caller.join(timeout=30)
    assert not any(c.is_alive() for c in callers), "a request hung"
    assert len(answers) == len(calls)  # every request sent came back with an answer
    for path, r, seconds in answers:
        assert isinstance(r, httpx.Response), r
        assert seconds < 5.0  # ended at the kill, not after the role's 5 s
        if path == "/v1/compare":
            results = {x["role"]: x for x in r.json()["results"]}
            record("replica killed", "error" if results["instruct"]["error"] else "completed")
            assert r.status_code == 200 and results["base"]["error"] is None
            err = results["instruct"]["error"]
        else:
            record("replica killed", f"http {r.status_code}")
            assert r.status_code == 503 and r.headers["retry-after"]
            err = r.json()["error"]
        assert (err["type"], err["code"]) == ("overloaded_error", "replica_unavailable")

    def serves_again():
        r = compare(url, {"prompt": "again", "roles": ["instruct"]})
        return r.status_code == 200 and r.json()["results"][0]["error"] is None

    wait_until(serves_again, what="Instruct never came back")
    assert replicas("Instruct") != [victim]


def test_unhealthy_engine_is_restarted_by_serves_health_check(faults):
    url, tmp = faults
    (old,) = replicas("Reasoning")
    (tmp / "sick").touch()
    wait_until(lambda: old not in replicas("Reasoning"), what="Serve never replaced the replica")
    (tmp / "sick").unlink()
    wait_until(lambda: httpx.get(f"{url}/healthz", timeout=10).status_code == 200,
               what="the role never became healthy")
    # A replacement that started while the engine was still sick is replaced in turn: for a
    # moment two replicas are listed (one stopping, one starting). Wait for the one that stays.
    wait_until(lambda: len(replicas("Reasoning")) == 1, what="the replacements never settled")
    (new,) = replicas("Reasoning")
    assert new != old
    r = compare(url, {"prompt": "hi", "roles": ["reasoning"]})
    record("unhealthy engine", "completed" if r.json()["results"][0]["error"] is None else "error")
    assert r.json()["results"][0]["error"] is None


def test_client_that_disconnects_mid_stream_cancels_its_generation(faults):
    url, _ = faults
    handle = driver_handle("Instruct", "faults")
    before = handle.stats.remote().result()
    chat = {"model": "instruct", "messages": [{"role": "user", "content": "hi"}], "stream": True}
    with httpx.Client(timeout=30) as client:
        with client.stream("POST", f"{url}/v1/chat/completions", json=chat) as r:
            lines = r.iter_lines()
            got = [next(lines) for _ in range(4)]  # a few frames, then hang up
    record("client disconnects", "cancelled")
    assert any("w0" in line or "w1" in line for line in got)

    def cancelled():
        now = handle.stats.remote().result()
        return now["running"] == 0 and now["cancelled"] == before["cancelled"] + 1

    wait_until(cancelled, timeout_s=15, what="the generation went on after the client left")
    after = handle.stats.remote().result()
    # It stopped early: far fewer than the 20 tokens the script would have produced.
    assert after["completion_tokens"] - before["completion_tokens"] < 15


def test_redeploy_lets_in_flight_streams_finish(faults, serve_instance):
    url, tmp = faults
    streams: list[list[str]] = [[] for _ in range(3)]

    def stream(frames):
        body = {"prompt": "hi", "roles": ["instruct"], "stream": True}
        with httpx.stream("POST", f"{url}/v1/compare", json=body, timeout=60) as r:
            frames.extend(line for line in r.iter_lines() if line.startswith("data: "))

    readers = [threading.Thread(target=stream, args=(frames,)) for frames in streams]
    for reader in readers:
        reader.start()
    time.sleep(1.0)
    deploy("faults", app_args(tmp, served="scripted-v2"), serve_instance, OPTIONS)
    for reader in readers:
        reader.join(timeout=60)
    for frames in streams:
        assert frames[-1] == "data: [DONE]"
        result = json.loads(frames[-2][6:])["result"]
        record("redeploy", "error" if result["error"] else "completed")
        assert result["error"] is None and result["content"] == "".join(SLOW)
    models = httpx.get(f"{url}/v1/models", timeout=30).json()["data"]
    assert {m["id"]: m["model"] for m in models}["instruct"] == "scripted-v2"
