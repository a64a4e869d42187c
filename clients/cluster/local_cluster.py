"""A Ray cluster of several nodes on one machine: try multi-node serving without a cloud.

Each node is a real `ray start --block` process with its own ports; worker nodes declare logical
GPUs (`--num-gpus`), so `num_gpus: 1` replicas are placed exactly as on a GPU cluster (torch still
sees no CUDA and runs on CPU). The head declares no GPU, so no model lands there. Every node is
stopped by the pid this module started; nothing else on the machine is touched (no `ray stop`).

Example::

    from clients.cluster import start_cluster

    with start_cluster(workers=2, gpus_per_worker=2) as cluster:
        cluster.deploy("deployments/demo.yaml", model_gpus=1)
        print(cluster.http_url, [(r.deployment, r.node) for r in cluster.replicas()])
        cluster.add_worker()                       # worker-3
        cluster.stop_worker("worker-1")

The same from a shell: `python -m clients.cluster` (clients/cluster/cli.py).
"""

from __future__ import annotations

import copy
import json
import os
import shutil
import tempfile
import time
from dataclasses import dataclass, field, fields
from pathlib import Path

import yaml

from clients.cluster.ray_node import Node, ensure_token, free_port

# Token auth, as Ray 2.60 defaults to and as the rest of the project says explicitly; it must be
# set before Ray reads its config in this process (the state and Serve clients send the token).
os.environ.setdefault("RAY_AUTH_MODE", "token")

DEFAULT_STATE = Path.home() / ".cache" / "triserve" / "local_cluster.json"


@dataclass(frozen=True)
class Replica:
    """One Serve replica joined with Ray's state: where it runs and what it holds."""

    app: str
    deployment: str
    replica_id: str
    state: str
    node: str | None  # the node's name (head, worker-1, ...); None while pending
    gpus: float | None  # GPUs the actor holds, from Ray's state API; None until alive


@dataclass
class LocalCluster:
    """A head and workers on this machine; build one with `start_cluster`."""

    root: str
    gcs_port: int
    dashboard_port: int
    http_port: int
    gpus_per_worker: int
    cpus_per_node: int
    head: Node | None = None
    workers: list[Node] = field(default_factory=list)
    fate_share: bool = True  # nodes get SIGTERM if this process dies (off for the CLI's `up`)

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.gcs_port}"

    @property
    def dashboard_url(self) -> str:
        return f"http://127.0.0.1:{self.dashboard_port}"

    @property
    def http_url(self) -> str:
        return f"http://127.0.0.1:{self.http_port}"

    # -- nodes ------------------------------------------------------------------------------

    def start_head(self, timeout_s: float = 120.0) -> None:
        ensure_token()
        self.head = self._node("head", 0, [
            "--head", f"--port={self.gcs_port}", "--include-dashboard=true",
            "--dashboard-host=127.0.0.1", f"--dashboard-port={self.dashboard_port}",
            f"--ray-client-server-port={free_port()}"])
        self._wait_alive([self.head], timeout_s)

    def add_worker(self, num_gpus: int | None = None, timeout_s: float = 120.0) -> int:
        """Starts one more worker node and waits until Ray lists it alive; returns its position
        in `workers` (its name, `workers[i].name`, is `worker-<i + 1>`)."""
        return self.add_workers(1, num_gpus, timeout_s)[0]

    def add_workers(self, count: int, num_gpus: int | None = None,
                    timeout_s: float = 120.0) -> list[int]:
        """Starts `count` worker nodes at once (faster than one by one); returns their indices."""
        gpus = self.gpus_per_worker if num_gpus is None else num_gpus
        first = len(self.workers)
        for i in range(first, first + count):
            self.workers.append(self._node(f"worker-{i + 1}", gpus, [f"--address={self.address}"]))
        self._wait_alive(self.workers[first:], timeout_s)
        return list(range(first, first + count))

    def worker(self, ref: str | int) -> Node:
        """The worker named `ref` as `status` shows it (`"worker-2"`, or its number `"2"`), or
        at position `ref` (an int) of `self.workers`. Raises LookupError naming the workers
        there are when there is no such worker."""
        if isinstance(ref, int) and not isinstance(ref, bool):
            if 0 <= ref < len(self.workers):
                return self.workers[ref]
        else:
            name = f"worker-{ref}" if str(ref).isdigit() else str(ref)
            for node in self.workers:
                if node.name == name:
                    return node
        there = ", ".join(n.name for n in self.workers) or "none"
        raise LookupError(f"no worker {ref!r} in this cluster (workers: {there})")

    def stop_worker(self, ref: str | int, graceful: bool = True) -> None:
        """Stops a worker (see `worker` for `ref`): SIGTERM drains the node first;
        graceful=False kills it (a crash)."""
        self.worker(ref).stop(graceful)

    def stop(self, remove_files: bool = True) -> None:
        """Stops every node this cluster started (workers first), then removes its temp dir."""
        for node in [*self.workers, self.head]:
            if node is not None:
                node.stop(graceful=False)
        if remove_files:
            shutil.rmtree(self.root, ignore_errors=True)

    def __enter__(self) -> LocalCluster:
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    def _node(self, name: str, gpus: int, args: list[str]) -> Node:
        return Node.start(name, self.root, gpus, self.cpus_per_node, args, self.fate_share)

    def _wait_alive(self, nodes: list[Node], timeout_s: float, retries: int = 2) -> None:
        """Waits until Ray's state API lists every node alive; stops them all if one fails.

        A node that exits while starting is started again (`retries` times): on a loaded machine
        `ray start` can exceed its fixed 30 s wait for the raylet to register and give up.
        """
        from ray.util.state import list_nodes

        deadline, waiting = time.monotonic() + timeout_s, {n.name: n for n in nodes}
        tries = dict.fromkeys(waiting, retries)
        try:
            while waiting:
                for node in waiting.values():
                    code = node.exit_code()
                    if code is None:
                        continue
                    if not tries[node.name]:
                        raise RuntimeError(f"{node.name} exited ({code}):\n{node.log_tail()}")
                    tries[node.name] -= 1
                    node.restart()
                    deadline = time.monotonic() + timeout_s  # a fresh attempt, a fresh wait
                if time.monotonic() > deadline:
                    raise TimeoutError(f"{sorted(waiting)} not alive after {timeout_s} s:\n"
                                       + next(iter(waiting.values())).log_tail())
                try:
                    alive = list_nodes(address=self.dashboard_url, filters=[("state", "=", "ALIVE")],
                                       raise_on_missing_output=False)
                except Exception:  # the dashboard is still starting
                    alive = []
                for n in alive:
                    waiting.pop(n.node_name, None)
                time.sleep(0.5 if waiting else 0)
        except BaseException:
            for node in nodes:
                node.stop(graceful=False)
            raise

    # -- serving ----------------------------------------------------------------------------

    def deploy(self, config: str | Path | dict, model_gpus: int | None = None,
               timeout_s: float = 240.0) -> dict:
        """Deploys a Serve config (path or dict) as `serve deploy` does; waits until it runs.

        The config is adapted to one machine: the proxy only on the head (all nodes share one
        IP) on this cluster's HTTP port. `model_gpus` sets `num_gpus` on every deployment but
        Ingress. Returns the config sent.
        """
        from ray.dashboard.modules.serve.sdk import ServeSubmissionClient

        cfg = localize(config, self.http_port, model_gpus)
        ServeSubmissionClient(self.dashboard_url).deploy_applications(cfg)
        self.wait_running(_wanted_replicas(cfg), timeout_s)
        return cfg

    def serve_details(self) -> dict:
        from ray.dashboard.modules.serve.sdk import ServeSubmissionClient

        return ServeSubmissionClient(self.dashboard_url).get_serve_details()

    def wait_running(self, wanted: dict | None = None, timeout_s: float = 240.0) -> None:
        """Waits until every app runs and each deployment has its target of running replicas.

        `wanted` maps (app, deployment) to a replica count the target must equal first, so that
        a redeploy is not mistaken for done before the controller has seen it.
        """
        deadline, last = time.monotonic() + timeout_s, None
        while time.monotonic() < deadline:
            last = self.serve_details()
            if _all_running(last, wanted or {}):
                return
            if any(a["status"] == "DEPLOY_FAILED" for a in last["applications"].values()):
                raise RuntimeError(f"deploy failed: {json.dumps(last['applications'])[:2000]}")
            time.sleep(1.0)
        raise TimeoutError(f"not running after {timeout_s} s: {_summary(last)}")

    def nodes(self) -> list:
        """Ray's view of the nodes (`ray.util.state.list_nodes`): names, state, resources."""
        from ray.util.state import list_nodes

        return list_nodes(address=self.dashboard_url, limit=10_000)

    def replicas(self) -> list[Replica]:
        """Every replica with its node's name and the GPUs its actor holds (Ray's state API)."""
        from ray.util.state import list_actors

        names = {n.node_id: n.node_name for n in self.nodes()}
        actors = {a.actor_id: a for a in list_actors(
            address=self.dashboard_url, detail=True, limit=10_000,
            filters=[("state", "=", "ALIVE")], raise_on_missing_output=False)}
        out = []
        for app_name, app in self.serve_details()["applications"].items():
            for dep_name, dep in app["deployments"].items():
                for r in dep["replicas"]:
                    actor = actors.get(r.get("actor_id"))
                    gpus = (actor.required_resources or {}).get("GPU", 0.0) if actor else None
                    out.append(Replica(app_name, dep_name, r["replica_id"], r["state"],
                                       names.get(r.get("node_id")), gpus))
        return out

    # -- state file (for the CLI) -----------------------------------------------------------

    def save(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        data = {f.name: getattr(self, f.name) for f in fields(self)}
        data.update(head=self.head.to_dict(), workers=[w.to_dict() for w in self.workers])
        path.write_text(json.dumps(data, indent=2))

    @classmethod
    def load(cls, path: Path) -> LocalCluster:
        data = json.loads(path.read_text())
        head = Node(**data.pop("head"))
        workers = [Node(**w) for w in data.pop("workers")]
        return cls(**data, head=head, workers=workers)


def start_cluster(workers: int = 2, gpus_per_worker: int = 1, cpus_per_node: int = 2,
                  fate_share: bool = True, timeout_s: float = 120.0) -> LocalCluster:
    """Starts a head (no GPU) and `workers` worker nodes with `gpus_per_worker` logical GPUs each.

    Example: `with start_cluster(workers=2, gpus_per_worker=2) as c: c.deploy(cfg)`. On any
    failure while starting, the nodes already started are stopped before the error propagates.
    """
    root = tempfile.mkdtemp(prefix="tsc-", dir="/tmp")  # short: Ray's socket paths are bounded
    cluster = LocalCluster(root=root, gcs_port=free_port(), dashboard_port=free_port(),
                           http_port=free_port(), gpus_per_worker=gpus_per_worker,
                           cpus_per_node=cpus_per_node, fate_share=fate_share)
    try:
        cluster.start_head(timeout_s)
        cluster.add_workers(workers, timeout_s=timeout_s)
    except BaseException:
        cluster.stop()
        raise
    return cluster


def localize(config: str | Path | dict, http_port: int, model_gpus: int | None = None) -> dict:
    """A Serve config adapted to a one-machine cluster (see `LocalCluster.deploy`)."""
    if isinstance(config, dict):
        cfg = copy.deepcopy(config)
    else:
        cfg = yaml.safe_load(Path(config).read_text())
    cfg["proxy_location"] = "HeadOnly"
    cfg["http_options"] = {**cfg.get("http_options", {}), "host": "127.0.0.1", "port": http_port}
    if model_gpus is not None:
        for app in cfg["applications"]:
            for dep in app.get("deployments", []):
                if dep["name"] != "Ingress":
                    dep.setdefault("ray_actor_options", {})["num_gpus"] = model_gpus
    return cfg


def _wanted_replicas(cfg: dict) -> dict:
    return {(app["name"], d["name"]): d["num_replicas"] for app in cfg["applications"]
            for d in app.get("deployments", []) if isinstance(d.get("num_replicas"), int)}


def _all_running(details: dict, wanted: dict) -> bool:
    apps = details.get("applications") or {}
    if not apps or any(a["status"] != "RUNNING" for a in apps.values()):
        return False
    for app_name, app in apps.items():
        for dep_name, dep in app["deployments"].items():
            states = [r["state"] for r in dep["replicas"]]
            target = dep["target_num_replicas"]
            if wanted.get((app_name, dep_name), target) != target:
                return False
            if states.count("RUNNING") != target or len(states) != target:
                return False
    return True


def _summary(details: dict | None) -> str:
    if not details:
        return "no Serve details"
    return "; ".join(f"{a}/{d}: {dep['status']} {[r['state'] for r in dep['replicas']]}"
                     for a, app in details.get("applications", {}).items()
                     for d, dep in app["deployments"].items())
