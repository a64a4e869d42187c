"""A dead engine is known at once: under load, the instruct role's vLLM engine core process is
killed (as an out-of-memory kill would), then the base role's decode thread (our loop) is ended.

Each time, counted: the streams running at the kill (each must end with an error frame, never
hang), 500s after the kill (none may come later than 5 s after it: the replica answers 503
`no_replica` with Retry-After until a replacement runs), the seconds until the role answers
again, and the failures of the other roles (must be 0). The counts go to out/reliability.json.
"""

from __future__ import annotations

import ctypes
import json
import os
import signal
import sys
import threading
import time

import httpx
import psutil
import pytest
import ray
from ledger import LEDGER, write
from ray import serve

from apps import tiny_roles, vllm_role
from budgets import VLLM_START_S, start_budget
from serving import deploy

# The functions run inside replicas by `__ray_call__` travel by value (replicas cannot import
# this test module).
ray.cloudpickle.register_pickle_by_value(sys.modules[__name__])

APP = "dying"
ROLES = ("base", "instruct", "reasoning")
LOAD_WORKERS = 2  # streaming clients per role
LOAD_BEFORE_KILL_S = 3.0
LATE_500_S = 5.0  # no 500 may come later than this after the death
# The vLLM engine starts once with the app and once more for its replacement.
DYING_START_S = start_budget("dying", 2 * VLLM_START_S)


@pytest.fixture(scope="module")
def dying(serve_instance, tiny_dirs, both_dir):
    args = tiny_roles(tiny_dirs, base={"max_new_tokens_cap": 512},
                      reasoning={"max_new_tokens_cap": 512})
    args["roles"]["instruct"] = vllm_role(both_dir, max_new_tokens_cap=512)
    url = deploy(APP, args, serve_instance, timeout_s=VLLM_START_S)
    yield url
    write()
    serve.delete(APP)


def replica(deployment: str):
    """The actor handle of the deployment's one running replica."""
    prefix = f"SERVE_REPLICA::{APP}#{deployment}#"
    names = [a["name"] for a in ray.util.list_named_actors(all_namespaces=True)
             if a["name"].startswith(prefix)]
    assert len(names) == 1, names
    return ray.get_actor(names[0], namespace="serve")


def _pid(actor_self) -> int:
    return os.getpid()


def _end_decode_thread(actor_self) -> bool:
    """Runs in the replica (Ray's `__ray_call__`): raises SystemExit inside the hf engine's
    decode thread, as a thread that dies would."""
    server = actor_self._replica_impl._user_callable_wrapper._callable
    thread = server.engine.batcher.thread
    hit = ctypes.pythonapi.PyThreadState_SetAsyncExc(ctypes.c_ulong(thread.ident),
                                                     ctypes.py_object(SystemExit))
    return hit == 1


def kill_vllm_engine(deployment: str) -> None:
    pid = ray.get(replica(deployment).__ray_call__.remote(_pid), timeout=30)
    cores = [p for p in psutil.Process(pid).children(recursive=True)
             if "EngineCore" in " ".join(p.cmdline()) or "EngineCore" in p.name()]
    assert cores, [(p.pid, p.name()) for p in psutil.Process(pid).children(recursive=True)]
    for p in cores:
        os.kill(p.pid, signal.SIGKILL)


def kill_decode_thread(deployment: str) -> None:
    assert ray.get(replica(deployment).__ray_call__.remote(_end_decode_thread), timeout=30)


class Load:
    """Streaming chat clients on every role until `stop`; every outcome kept with its times."""

    def __init__(self, url: str, max_tokens: int):
        self.url, self.max_tokens = url, max_tokens
        self.outcomes: list[dict] = []  # role, start, end, status, outcome
        self.stopped = threading.Event()
        self.threads = [threading.Thread(target=self._worker, args=(role,), daemon=True)
                        for role in ROLES for _ in range(LOAD_WORKERS)]

    def __enter__(self):
        for t in self.threads:
            t.start()
        return self

    def __exit__(self, *exc):
        self.stopped.set()
        for t in self.threads:
            t.join(120)
        assert not any(t.is_alive() for t in self.threads), "a request hung"

    def _worker(self, role: str) -> None:
        body = {"model": role, "messages": [{"role": "user", "content": "tell me a story"}],
                "max_tokens": self.max_tokens, "stream": True}
        while not self.stopped.is_set():
            start = time.monotonic()
            status, outcome = None, "ok"
            try:
                with httpx.stream("POST", f"{self.url}/v1/chat/completions", json=body,
                                  timeout=60) as r:
                    status = r.status_code
                    if status != 200:
                        r.read()
                        outcome = f"http {status}"
                        if status == 503:
                            assert r.headers.get("retry-after"), r.headers
                            outcome += " " + r.json()["error"]["code"]
                    else:
                        frames = [line[6:] for line in r.iter_lines() if line.startswith("data: ")]
                        assert frames[-1] == "[DONE]", frames[-3:]
                        if any('"error"' in f and json.loads(f).get("error") for f in frames[:-1]):
                            outcome = "error frame"
            except (httpx.HTTPError, AssertionError) as exc:
                outcome = f"client: {type(exc).__name__}"
            self.outcomes.append({"role": role, "start": start, "end": time.monotonic(),
                                  "status": status, "outcome": outcome})
            if outcome.startswith("http 503"):
                time.sleep(0.2)  # a polite client's Retry-After, shortened

    def answered_again(self, role: str, since: float) -> float | None:
        """When the first request that started after `since` and succeeded ended."""
        ends = [o["end"] for o in self.outcomes
                if o["role"] == role and o["start"] > since and o["outcome"] == "ok"]
        return min(ends) if ends else None


@pytest.mark.parametrize("victim, deployment, kill, engine", [
    ("instruct", "Instruct", kill_vllm_engine, "vllm"),
    ("base", "Base", kill_decode_thread, "hf"),
])
def test_a_dead_engine_is_a_503_at_once_and_the_role_comes_back(dying, victim, deployment, kill,
                                                                engine):
    # Long enough answers that streams are running at the kill on both engines.
    with Load(dying, max_tokens=256 if engine == "hf" else 96) as load:
        time.sleep(LOAD_BEFORE_KILL_S)
        killed_at = time.monotonic()
        kill(deployment)
        deadline = killed_at + DYING_START_S / 2
        while load.answered_again(victim, killed_at) is None and time.monotonic() < deadline:
            time.sleep(0.5)
        time.sleep(1.0)  # a little load on the replacement
    back = load.answered_again(victim, killed_at)
    assert back is not None, f"the {victim} role did not answer again"

    mine = [o for o in load.outcomes if o["role"] == victim]
    in_flight = [o for o in mine if o["start"] < killed_at < o["end"]]
    # A request sent just before the kill may reach the ingress after the watch has seen the role
    # down: it is refused at once (503 no_replica), never started, and so was not running.
    running = [o for o in in_flight if o["outcome"] != "http 503 no_replica"]
    late_500 = [o for o in mine if o["status"] == 500 and o["end"] > killed_at + LATE_500_S]
    others = [o for o in load.outcomes if o["role"] != victim]
    failed_others = [o for o in others if o["outcome"] != "ok"]
    counts = {
        "killed": f"{victim} ({engine})",
        "running_at_kill": len(running),
        "running_ended_with_error_frame": sum(o["outcome"] == "error frame" for o in running),
        "running_answered_whole": sum(o["outcome"] == "ok" for o in running),
        "http_500_after_kill": sum(o["status"] == 500 and o["end"] > killed_at for o in mine),
        "http_500_later_than_5s": len(late_500),
        "http_503_after_kill": sum(o["status"] == 503 and o["start"] > killed_at for o in mine),
        "seconds_until_answered_again": round(back - killed_at, 1),
        "other_roles_requests": len(others),
        "other_roles_failed": len(failed_others),
    }
    LEDGER[f"engine killed under load: {engine}"] = counts
    print(json.dumps(counts))
    assert running, "no stream was running at the kill"
    # A stream running at the death ends with an error frame (or had its answer already).
    assert all(o["outcome"] in ("error frame", "ok") for o in running), running
    assert not late_500, late_500
    assert not failed_others, failed_others[:5]
