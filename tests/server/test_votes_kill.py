"""THE KILL TEST: the vote store's replica is killed between votes; every vote that was
acknowledged is found in the export after the store comes back.

Votes keep coming while the store is down: each gets an answer within the store's budget (an
acknowledgement, or a 503 with Retry-After), never a hang. The counts go to out/reliability.json.
"""

from __future__ import annotations

import json
import time

import httpx
import pytest
import ray
from ledger import LEDGER, record, write
from ray import serve
from serving import deploy

from apps import scripted_role

FAULT = "vote store killed"
BUDGET_S = 3.0  # votes.timeout_s of this app


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def killable(request, serve_instance, tmp_path_factory):
    """The app whose store is killed, on SQLite and on a real PostgreSQL server."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('votes-kill') / 'votes.db'}"
    else:
        url = request.getfixturevalue("postgres_url")
    roles = {r: {**scripted_role(), "served_model_name": f"m-{r}"} for r in ("base", "instruct")}
    args = {"roles": roles, "votes": {"database_url": url, "timeout_s": BUDGET_S}}
    url = deploy("votekill", args, serve_instance)
    yield url
    write()
    serve.delete("votekill")


def store_replicas() -> list[str]:
    prefix = "SERVE_REPLICA::votekill#VoteStore#"
    named = ray.util.list_named_actors(all_namespaces=True)
    return sorted(a["name"] for a in named if a["name"].startswith(prefix))


def ballot(i: int) -> dict:
    answers = [{"role": r, "model": f"m-{r}", "content": f"answer {i}"}
               for r in ("base", "instruct")]
    return {"comparison_id": f"kill-{i}", "prompt": f"question {i}", "answers": answers,
            "shown_order": ["base", "instruct"], "verdict": "winner",
            "winner": "base" if i % 2 else "instruct"}


def test_every_acknowledged_vote_survives_a_killed_store(killable):
    url = killable
    acked: dict[str, int] = {}
    refused = 0
    i = 0

    def vote() -> None:
        nonlocal i, refused
        start = time.monotonic()
        r = httpx.post(f"{url}/v1/votes", json=ballot(i), timeout=60)
        seconds = time.monotonic() - start
        assert seconds < BUDGET_S + 5, f"vote {i} took {seconds:.1f} s"
        if r.status_code == 200:
            acked[f"kill-{i}"] = r.json()["id"]
            record(FAULT, "acknowledged")
        else:
            assert r.status_code == 503 and r.headers["retry-after"], r.text
            assert r.json()["error"]["code"] == "store_unavailable"
            refused += 1
            record(FAULT, "http 503")
        i += 1

    for _ in range(10):
        vote()
    (victim,) = store_replicas()
    ray.kill(ray.get_actor(victim, namespace="serve"), no_restart=True)
    # Keep voting until a new replica has taken 10 votes (or 120 s).
    deadline = time.monotonic() + 120
    after = 0
    while after < 10 and time.monotonic() < deadline:
        before = len(acked)
        vote()
        back = store_replicas() not in ([], [victim])
        after += back and len(acked) > before
        time.sleep(0.1)
    assert after == 10, f"the store did not come back: {len(acked)} acknowledged, {refused} refused"
    assert store_replicas() != [victim]

    r = httpx.get(f"{url}/v1/votes", timeout=60)
    assert r.status_code == 200
    found = {}
    for line in r.text.splitlines():
        rec = json.loads(line)
        found[rec["comparison_id"]] = rec["id"]
    missing = sorted(set(acked) - set(found))
    LEDGER[FAULT]["acknowledged found"] = len(set(acked) & set(found))
    print(f"{FAULT}: sent {i}, acknowledged {len(acked)}, refused (503) {refused}, "
          f"found {len(set(acked) & set(found))}, stored in all {len(found)}")
    assert not missing, f"acknowledged votes lost: {missing}"
    assert all(found[cid] == rid for cid, rid in acked.items())
