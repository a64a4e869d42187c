"""A dead engine is known at once: under load on every role of the shared `mixed` app (base on
our loop, instruct and reasoning on vLLM), the instruct role's vLLM engine core process is killed
(as an out-of-memory kill would) and, at the same moment, the base role's decode thread (our loop)
is ended. The reasoning role (vLLM) is the bystander.

For each killed role, counted: the streams running at the kill (each must end with an error
frame, never hang), 500s after the kill (none may come later than 5 s after it: the replica
answers 503 `no_replica` with Retry-After until a replacement runs), the seconds until the role
answers again; and the failures of the bystander (must be 0). The counts go to
out/reliability.json.

Both replacements start side by side, as after a node's out-of-memory kill. The test waits for
base's (our loop) to answer, and for Serve to have started instruct's; it does not wait for the
vLLM replacement to load (a vLLM start on 2 busy cores took 3–5 minutes of CI's 40). So it runs
after every other test and `mixed` is stopped after it (the `spends_shared` marker, conftest).
`TRISERVE_WAIT_EVERY_REPLACEMENT=1` waits for the vLLM role to answer again too, and counts it:
docs/reliability.md has such a run.
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

from budgets import VLLM_START_S

# The functions run inside replicas by `__ray_call__` travel by value (replicas cannot import
# this test module).
ray.cloudpickle.register_pickle_by_value(sys.modules[__name__])

APP = "mixed"  # tests/server/conftest.py
BYSTANDER = "reasoning"
# Long enough answers that streams are running at the kill on both engines (within each role's
# max_new_tokens_cap in `mixed`).
MAX_TOKENS = {"base": 256, "instruct": 96, "reasoning": 96}
# Streaming clients per role: two on each victim, so that streams are running at the kill; one
# on the bystander, enough to see any failure, and lighter on the 2 cores the replacements need.
LOAD_WORKERS = {"base": 2, "instruct": 2, "reasoning": 1}
LOAD_BEFORE_KILL_S = 3.0
LATE_500_S = 5.0  # no 500 may come later than this after the death
# The roles whose replacements the test waits for, until they answer (the others: until Serve
# has started a replacement); and how long it waits: an hf start, or a vLLM start.
WAIT_FOR_ANSWER = {"base", "instruct"} if os.environ.get("TRISERVE_WAIT_EVERY_REPLACEMENT") \
    else {"base"}
HF_START_S = 180.0  # tests/serving.py's deploy: what a tiny app on our loop may take
BACK_WITHIN_S = VLLM_START_S if "instruct" in WAIT_FOR_ANSWER else HF_START_S


def replica_names(deployment: str) -> set[str]:
    """The Ray actor names of the deployment's replicas (each replica's name holds its id)."""
    prefix = f"SERVE_REPLICA::{APP}#{deployment}#"
    return {a["name"] for a in ray.util.list_named_actors(all_namespaces=True)
            if a["name"].startswith(prefix)}


def replica(deployment: str):
    """The actor handle of the deployment's one running replica."""
    names = replica_names(deployment)
    assert len(names) == 1, names
    return ray.get_actor(names.pop(), namespace="serve")


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

    def __init__(self, url: str):
        self.url = url
        self.outcomes: list[dict] = []  # role, start, end, status, outcome
        self.stopped = threading.Event()
        self.threads = [threading.Thread(target=self._worker, args=(role,), daemon=True)
                        for role, n in LOAD_WORKERS.items() for _ in range(n)]

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
                "max_tokens": MAX_TOKENS[role], "stream": True}
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
                time.sleep(1.0)  # a polite client waits (Retry-After says more); a tighter poll
                # would take the CPU the replacements start on

    def answered_again(self, role: str, since: float) -> float | None:
        """When the first request that started after `since` and succeeded ended."""
        ends = [o["end"] for o in self.outcomes
                if o["role"] == role and o["start"] > since and o["outcome"] == "ok"]
        return min(ends) if ends else None


VICTIMS = {"instruct": ("Instruct", kill_vllm_engine, "vllm"),
           "base": ("Base", kill_decode_thread, "hf")}


@pytest.mark.spends_shared(APP)
@pytest.mark.timeout(BACK_WITHIN_S + 120)
def test_a_dead_engine_is_a_503_at_once_and_the_role_comes_back(mixed):
    killed = {victim: replica_names(deployment) for victim, (deployment, _, _) in VICTIMS.items()}
    replaced_at: dict[str, float] = {}
    with Load(mixed) as load:
        time.sleep(LOAD_BEFORE_KILL_S)
        killed_at = time.monotonic()
        for deployment, kill, _ in VICTIMS.values():
            kill(deployment)
        deadline = killed_at + BACK_WITHIN_S
        while time.monotonic() < deadline:
            for victim, (deployment, _, _) in VICTIMS.items():
                if victim not in replaced_at and replica_names(deployment) - killed[victim]:
                    replaced_at[victim] = time.monotonic()
            if (len(replaced_at) == len(VICTIMS)
                    and all(load.answered_again(v, killed_at) for v in WAIT_FOR_ANSWER)):
                break
            time.sleep(0.5)
        time.sleep(max(1.0, killed_at + 2 * LATE_500_S - time.monotonic()))  # calls past 5 s

    others = [o for o in load.outcomes if o["role"] == BYSTANDER]
    failed_others = [o for o in others if o["outcome"] != "ok"]
    found = {}
    for victim, (_, _, engine) in VICTIMS.items():
        back = load.answered_again(victim, killed_at)
        mine = [o for o in load.outcomes if o["role"] == victim]
        in_flight = [o for o in mine if o["start"] < killed_at < o["end"]]
        # A request sent just before the kill may reach the ingress after the watch has seen the
        # role down: it is refused at once (503 no_replica), never started, and so was not running.
        running = [o for o in in_flight if o["outcome"] != "http 503 no_replica"]
        late_500 = [o for o in mine if o["status"] == 500 and o["end"] > killed_at + LATE_500_S]
        counts = {
            "killed": f"{victim} ({engine})",
            "running_at_kill": len(running),
            "running_ended_with_error_frame": sum(o["outcome"] == "error frame" for o in running),
            "running_answered_whole": sum(o["outcome"] == "ok" for o in running),
            "http_500_after_kill": sum(o["status"] == 500 and o["end"] > killed_at for o in mine),
            "http_500_later_than_5s": len(late_500),
            "http_503_after_kill": sum(o["status"] == 503 and o["start"] > killed_at for o in mine),
            "seconds_until_replacement_started": (round(replaced_at[victim] - killed_at, 1)
                                                  if victim in replaced_at else None),
            "seconds_until_answered_again": None if back is None else round(back - killed_at, 1),
            "bystander": BYSTANDER,
            "bystander_requests": len(others),
            "bystander_failed": len(failed_others),
        }
        LEDGER[f"engine killed under load: {engine}"] = counts
        print(json.dumps(counts))
        found[victim] = (back, running, late_500, counts["http_503_after_kill"])
    write()
    for victim, (back, running, late_500, refused) in found.items():
        assert victim in replaced_at, f"Serve started no replacement for {victim}"
        if victim in WAIT_FOR_ANSWER:
            assert back is not None, f"the {victim} role did not answer again"
        else:  # still loading: its calls are refused at once, as while any replacement starts
            assert back is not None or refused, f"{victim}'s calls were not refused with a 503"
        assert running, f"no {victim} stream was running at the kill"
        # A stream running at the death ends with an error frame (or had its answer already).
        assert all(o["outcome"] in ("error frame", "ok") for o in running), running
        assert not late_500, late_500
    assert not failed_others, failed_others[:5]
