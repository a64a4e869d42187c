"""A role that cannot answer fails fast: a role with no running replica is refused at once (503,
`no_replica`), a comparison answers the other roles without waiting for it, and a call waiting
for a replica fails when its role loses the last one. `role_timeout_s` is 600 s throughout, so
that an answer within seconds is never the timeout's."""

from __future__ import annotations

import asyncio
import threading
import time
from pathlib import Path
from types import SimpleNamespace

import httpx
import pytest
import ray
from ray import serve

from apps import scripted_role
from serve.ingress.availability import ReplicaWatch, down_reason

SLOW = [f" w{i}" for i in range(40)]  # 40 steps × 0.25 s = 10 s
CHAT = {"messages": [{"role": "user", "content": "hi"}]}
NEVER_PLACED = {"num_cpus": 0.1, "resources": {"triserve_no_such_node": 1}}


def start_app(name: str, args: dict, base_url: str, options: dict, running: set[str]) -> str:
    """Deploys without waiting for the whole app (one role may never run): waits until the
    deployments in `running` are healthy."""
    from serve.app import build_graph
    from serve.config import AppConfig

    config = AppConfig.model_validate(args)
    names = [config.deployment_name(role) for role in config.roles] + ["Ingress"]
    opts = {n: {"ray_actor_options": {"num_cpus": 0.1}, **options.get(n, {})} for n in names}
    # serve.run waits for the whole app to run; this one may never.
    serve._run(build_graph(config, opts), name=name, route_prefix=f"/{name}", _blocking=False)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        app = serve.status().applications.get(name)
        deps = app.deployments if app else {}
        if all(n in deps and deps[n].status == "HEALTHY" for n in running):
            return f"{base_url}/{name}"
        time.sleep(0.25)
    raise TimeoutError(f"{sorted(running)} of {name} never became healthy")


def three_roles(**reasoning) -> dict:
    return {"roles": {"base": scripted_role(tokens=["base", " answer"]),
                      "instruct": scripted_role(tokens=["instruct", " answer"]),
                      "reasoning": scripted_role(**reasoning)},
            "ingress": {"role_timeout_s": 600}}


@pytest.fixture(scope="module")
def half_placed(serve_instance):
    """The reasoning role asks for a resource no node has: its replica is never placed."""
    url = start_app("halfplaced", three_roles(), serve_instance,
                    {"Reasoning": {"ray_actor_options": NEVER_PLACED}},
                    {"Ingress", "Base", "Instruct"})
    yield url
    serve.delete("halfplaced", _blocking=False)


def timed(method: str, url: str, **kwargs) -> tuple[httpx.Response, float]:
    start = time.perf_counter()
    r = httpx.request(method, url, timeout=60, **kwargs)
    return r, time.perf_counter() - start


def test_compare_answers_the_other_roles_at_once(half_placed):
    r, seconds = timed("POST", f"{half_placed}/v1/compare", json={"prompt": "hi"})
    assert r.status_code == 200, r.text
    results = {x["role"]: x for x in r.json()["results"]}
    assert results["base"]["content"] == "base answer" and results["base"]["error"] is None
    assert results["instruct"]["content"] == "instruct answer"
    err = results["reasoning"]["error"]
    assert (err["type"], err["code"]) == ("overloaded_error", "no_replica"), err
    assert "no running replica" in err["message"]
    assert results["reasoning"]["finish_reason"] == "error"
    print(f"compare with one role unplaceable: {seconds:.2f} s")
    assert seconds < 3.0


def test_streamed_compare_ends_with_the_roles_error(half_placed):
    body = {"prompt": "hi", "stream": True}
    start = time.perf_counter()
    with httpx.stream("POST", f"{half_placed}/v1/compare", json=body, timeout=60) as r:
        frames = [line for line in r.iter_lines() if line.startswith("data: ")]
    assert r.status_code == 200 and frames[-1] == "data: [DONE]"
    assert time.perf_counter() - start < 3.0
    import json
    results = {e["role"]: e["result"] for e in (json.loads(f[6:]) for f in frames[:-1])
               if e["type"] == "result"}
    assert results["reasoning"]["error"]["code"] == "no_replica"
    assert results["base"]["error"] is None and results["instruct"]["error"] is None


@pytest.mark.parametrize("path,body,stream", [
    ("/v1/chat/completions", {**CHAT, "model": "reasoning"}, False),
    ("/v1/chat/completions", {**CHAT, "model": "reasoning"}, True),
    ("/v1/completions", {"model": "reasoning", "prompt": "hi"}, False),
])
def test_single_model_routes_answer_503_with_retry_after(half_placed, path, body, stream):
    r, seconds = timed("POST", half_placed + path, json={**body, "stream": stream})
    assert r.status_code == 503, r.text
    assert r.headers["retry-after"] and r.headers["x-should-retry"] == "true"
    err = r.json()["error"]
    assert (err["type"], err["code"]) == ("overloaded_error", "no_replica")
    assert seconds < 3.0
    ok = httpx.post(f"{half_placed}/v1/chat/completions", json={**CHAT, "model": "base"},
                    timeout=60)
    assert ok.status_code == 200  # the other roles serve as usual


def test_healthz_names_the_role(half_placed):
    r = httpx.get(f"{half_placed}/healthz", timeout=30)
    assert r.status_code == 503
    roles = r.json()["roles"]
    assert roles["reasoning"]["status"] == "unavailable"
    assert "no running replica" in roles["reasoning"]["error"]
    assert roles["base"]["status"] == roles["instruct"]["status"] == "ok"
    assert r.json()["warnings"] == []  # loopback (the test Serve binds 127.0.0.1): no warning


def replicas(app: str, deployment: str) -> list[str]:
    prefix = f"SERVE_REPLICA::{app}#{deployment}#"
    return sorted(a["name"] for a in ray.util.list_named_actors(all_namespaces=True)
                  if a["name"].startswith(prefix))


@pytest.fixture(scope="module")
def fragile(serve_instance, tmp_path_factory):
    """Base answers slowly, one request at a time, and turns unhealthy (so that Serve cannot
    bring it back) while a file exists."""
    sick = tmp_path_factory.mktemp("fragile") / "sick"
    args = {"roles": {"base": scripted_role(tokens=SLOW, token_s=0.25, unhealthy_file=str(sick)),
                      "instruct": scripted_role(tokens=["fine"])},
            "ingress": {"role_timeout_s": 600}}
    options = {"Base": {"max_ongoing_requests": 1, "health_check_period_s": 1,
                        "health_check_timeout_s": 5}}
    url = start_app("fragile", args, serve_instance, options, {"Ingress", "Base", "Instruct"})
    yield url, sick
    serve.delete("fragile", _blocking=False)


def send_all(url: str, calls: list[tuple[str, dict]]) -> tuple[list, list[threading.Thread]]:
    answers: list = []

    def send(path, body):
        start = time.perf_counter()
        with httpx.Client(timeout=120) as client:
            if body.get("stream"):
                with client.stream("POST", url + path, json=body) as r:
                    text = "".join(r.iter_text())
            else:
                r = client.post(url + path, json=body)
                text = r.text
        answers.append((path, body, r.status_code, text, time.perf_counter() - start))

    threads = [threading.Thread(target=send, args=call) for call in calls]
    for t in threads:
        t.start()
    return answers, threads


def test_calls_waiting_for_a_replica_fail_when_the_role_loses_it(fragile):
    """One call runs on Base's only slot, two wait behind it in Serve's queue; then the replica
    is killed and cannot come back (its engine is unhealthy): every call ends within seconds."""
    url, sick = fragile
    (victim,) = replicas("fragile", "Base")
    chat = {**CHAT, "model": "base"}
    calls = [("/v1/chat/completions", chat),
             ("/v1/compare", {"prompt": "hi", "roles": ["base", "instruct"]}),
             ("/v1/compare", {"prompt": "hi", "roles": ["base", "instruct"], "stream": True})]
    answers, threads = send_all(url, calls[:1])
    time.sleep(1.0)  # the first call holds the slot
    more, more_threads = send_all(url, calls[1:])
    time.sleep(1.0)  # the others wait in Serve's queue
    sick.touch()
    killed = time.perf_counter()
    ray.kill(ray.get_actor(victim, namespace="serve"), no_restart=True)
    for t in threads + more_threads:
        t.join(timeout=60)
    waited = time.perf_counter() - killed
    try:
        assert not any(t.is_alive() for t in threads + more_threads), "a request hung"
        print(f"every call ended {waited:.1f} s after the kill")
        assert waited < 15.0  # Ray's report and Serve's health check, not role_timeout_s
        chat_answer = answers[0]
        assert chat_answer[2] == 503 and "replica" in chat_answer[3]
        for path, body, status, text, seconds in more:
            print(f"{path} stream={body.get('stream', False)}: {status} after {seconds:.1f} s, "
                  f"{'no_replica' if 'no_replica' in text else 'replica_unavailable'}")
            assert status == 200, text
            assert "no_replica" in text or "replica_unavailable" in text
            assert "fine" in text  # the instruct role answered
    finally:
        sick.unlink()
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:  # Serve brings it back once healthy; so do we
        r = httpx.post(f"{url}/v1/completions", json={"model": "base", "prompt": "x",
                                                      "max_tokens": 2}, timeout=60)
        if r.status_code == 200:
            break
        assert r.status_code == 503 and r.headers["retry-after"]
        time.sleep(1.0)
    assert r.status_code == 200, r.text


# ---- the watch's rules, without Serve ----------------------------------------------------------

def overview(status: str, **states: int):
    return SimpleNamespace(status=status, replica_states=states)


@pytest.mark.parametrize("status,states,down", [
    ("HEALTHY", {"RUNNING": 1}, False),
    ("UNHEALTHY", {"RUNNING": 1, "STARTING": 1}, False),  # one still answers
    ("HEALTHY", {}, False),  # scaled to zero: a call wakes it
    ("UPSCALING", {"STARTING": 1}, False),  # a cold start from zero
    ("DOWNSCALING", {"STOPPING": 1}, False),
    ("UPDATING", {"STARTING": 1}, True),  # never placed (no free GPU)
    ("UNHEALTHY", {"STARTING": 1, "STOPPING": 1}, True),  # died; the replacement pends
    ("DEPLOY_FAILED", {}, True),
])
def test_down_reason(status, states, down):
    reason = down_reason("reasoning", overview(status, **states))
    assert (reason is not None) == down
    if down:
        assert reason.startswith("the reasoning model has no running replica")


def test_watch_fails_waiting_calls_on_loss_and_polls_fresh_for_new_ones():
    views, calls = [], []

    def status(apps):
        assert apps == {"app"}
        calls.append(1)
        dep = views[-1]
        return SimpleNamespace(applications={"app": SimpleNamespace(deployments={"R": dep})})

    async def scenario():
        watch = ReplicaWatch({"reasoning": ("app", "R")}, poll_s=0, status_fn=status)
        views.append(overview("HEALTHY", RUNNING=1))
        await watch.refresh()
        await watch.check("reasoning")
        lost = watch.lost("reasoning")
        views.append(overview("UNHEALTHY", STARTING=1))
        await watch.refresh()
        assert lost.is_set()
        with pytest.raises(Exception) as info:
            await watch.check("reasoning")
        assert info.value.code == "no_replica" and info.value.status == 503
        views.append(overview("HEALTHY", RUNNING=1))  # back: the next check polls afresh
        await watch.check("reasoning")
        assert not watch.lost("reasoning").is_set()
        before = len(calls)
        await asyncio.gather(*(watch.refresh() for _ in range(20)))  # one poll serves them all
        return len(calls) - before

    assert asyncio.run(scenario()) == 1


def test_a_failing_status_call_changes_nothing():
    def status(apps):
        raise ConnectionError("controller unreachable")

    async def scenario():
        watch = ReplicaWatch({"base": ("app", "Base")}, poll_s=0, status_fn=status)
        await watch.refresh()
        await watch.check("base")  # not known down: calls go on

    asyncio.run(scenario())


def test_a_role_whose_application_is_not_deployed_is_down_naming_it():
    """`role_apps`: a role lives in an application of its own; one that is not deployed (a
    config that left it out, a misnamed application) is refused at once, not waited for."""
    def status(apps):
        assert apps == {"app", "ra-instruct"}
        return SimpleNamespace(applications={"app": SimpleNamespace(deployments={
            "R": overview("HEALTHY", RUNNING=1)})})

    async def scenario():
        watch = ReplicaWatch({"reasoning": ("app", "R"), "instruct": ("ra-instruct", "Instruct")},
                             poll_s=0, status_fn=status)
        await watch.refresh()
        await watch.check("reasoning")
        with pytest.raises(Exception) as info:
            await watch.check("instruct")
        return info.value

    error = asyncio.run(scenario())
    assert error.code == "no_replica" and "'ra-instruct'" in error.message
