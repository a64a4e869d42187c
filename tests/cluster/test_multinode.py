"""Scheduling on a multi-node Ray cluster simulated on one machine (real `ray start` nodes).

A head without GPUs and GPU worker nodes with logical GPUs: each model replica must hold one GPU
on a worker, a new worker must take the added replicas, and losing a worker must be survived.
The cluster is this test's own (its own ports and temp dir); it never touches the session Ray.
"""

from __future__ import annotations

import time

import httpx
import pytest
from apps import tiny_roles

from clients.cluster.local_cluster import start_cluster

# Servers of its own, with the memory they need: the shared ones are stopped first (conftest).
pytestmark = pytest.mark.big_servers

MODELS = ("Base", "Instruct", "Reasoning")
RECOVERY_BOUND_S = 150.0  # worker lost → /v1/compare answers again from all three roles


def graph(tiny_dirs, replicas: dict[str, int]) -> dict:
    """The three-role graph on tiny models, `num_gpus: 1` per model replica."""
    # Health checks as lenient as graph.yaml's: a loaded test machine must not fail replicas.
    models = [{"name": name, "num_replicas": replicas[name],
               "ray_actor_options": {"num_gpus": 1, "num_cpus": 0.1},
               "health_check_period_s": 10, "health_check_timeout_s": 60} for name in MODELS]
    ingress = {"name": "Ingress", "num_replicas": 1, "ray_actor_options": {"num_cpus": 0.1}}
    return {"applications": [{
        "name": "triserve", "route_prefix": "/", "import_path": "serve.app:build_app",
        "args": tiny_roles(tiny_dirs), "deployments": [*models, ingress]}]}


def model_replicas(cluster) -> list:
    return [r for r in cluster.replicas() if r.deployment in MODELS]


def recovered(cluster, lost: set[str]) -> bool:
    """The lost replicas are replaced by running ones elsewhere and every role answers."""
    try:
        reps = model_replicas(cluster)
    except Exception:  # the state API may time out while the cluster is in turmoil; poll again
        return False
    return (not lost & {r.replica_id for r in reps} and len(reps) == 6
            and all(r.state == "RUNNING" for r in reps) and compare_ok(cluster.http_url))


def compare_ok(url: str) -> bool:
    try:
        r = httpx.post(f"{url}/v1/compare", json={"prompt": "hello"}, timeout=30)
    except httpx.HTTPError:
        return False
    return r.status_code == 200 and all(x["error"] is None for x in r.json()["results"])


@pytest.mark.timeout(420)
def test_replicas_hold_worker_gpus_scale_onto_a_new_node_and_survive_a_lost_one(tiny_dirs):
    with start_cluster(workers=2, gpus_per_worker=2) as cluster:
        workers = {"worker-1", "worker-2"}
        sent = cluster.deploy(graph(tiny_dirs, {"Base": 2, "Instruct": 1, "Reasoning": 1}))
        assert sent["proxy_location"] == "HeadOnly"

        # 4 replicas fill the 4 worker GPUs: one GPU each, all on workers, none on the head.
        first = model_replicas(cluster)
        assert sorted(r.deployment for r in first) == ["Base", "Base", "Instruct", "Reasoning"], first
        assert all(r.state == "RUNNING" and r.gpus == 1.0 for r in first), first
        assert {r.node for r in first} == workers
        (head,) = [n for n in cluster.nodes() if n.is_head_node]
        assert head.node_name == "head" and head.resources_total.get("GPU", 0) == 0
        ingress = [r for r in cluster.replicas() if r.deployment == "Ingress"]
        assert [r.gpus for r in ingress] == [0.0]
        assert compare_ok(cluster.http_url)

        # A third worker joins; the replicas added by a redeploy can only fit there.
        cluster.add_worker(num_gpus=4)
        cluster.deploy(graph(tiny_dirs, {"Base": 2, "Instruct": 2, "Reasoning": 2}))
        before = {r.replica_id for r in first}
        added = [r for r in model_replicas(cluster) if r.replica_id not in before]
        assert sorted(r.deployment for r in added) == ["Instruct", "Reasoning"], added
        assert all(r.node == "worker-3" and r.gpus == 1.0 for r in added), added

        # worker-1 crashes: its replicas come back on worker-3's free GPUs and all roles answer.
        prior = model_replicas(cluster)
        lost = {r.replica_id for r in prior if r.node == "worker-1"}
        assert lost
        t0 = time.monotonic()
        cluster.stop_worker(0, graceful=False)
        while not recovered(cluster, lost):
            assert time.monotonic() - t0 < RECOVERY_BOUND_S, f"not recovered: {cluster.replicas()}"
            time.sleep(1.0)
        recovered_s = time.monotonic() - t0
        now = model_replicas(cluster)
        assert len(now) == 6 and all(r.gpus == 1.0 for r in now), now
        assert {r.node for r in now} <= {"worker-2", "worker-3"}
        replacements = [r for r in now if r.replica_id not in {p.replica_id for p in prior}]
        assert len(replacements) == len(lost) and {r.node for r in replacements} == {"worker-3"}
        print(f"recovered from a lost worker in {recovered_s:.1f} s")
    assert not any(n.leftovers() for n in [cluster.head, *cluster.workers])
