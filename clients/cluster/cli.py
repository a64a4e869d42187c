"""`python -m clients.cluster`: a Ray cluster of several nodes on this machine, from a shell.

    python -m clients.cluster up --workers 2 --gpus-per-worker 2     # prints the URLs
    python -m clients.cluster deploy deployments/demo.yaml --model-gpus 1
    python -m clients.cluster status                  # nodes, and where each replica runs
    python -m clients.cluster add-worker --gpus 2     # prints its name: worker-3
    python -m clients.cluster stop-worker worker-2 --kill   # or `2`: a node crash
    python -m clients.cluster down

Workers are named as `status` shows them (`worker-1`, `worker-2`, ...); `stop-worker` takes
that name or its number. The state lives in a small JSON file between commands (--state).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from clients.cluster.local_cluster import DEFAULT_STATE, LocalCluster, start_cluster


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m clients.cluster", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--state", type=Path, default=DEFAULT_STATE, help="cluster state file")
    sub = p.add_subparsers(dest="cmd", required=True)
    up = sub.add_parser("up", help="start a head and N GPU workers; they keep running")
    up.add_argument("--workers", type=int, default=2)
    up.add_argument("--gpus-per-worker", type=int, default=1)
    up.add_argument("--cpus-per-node", type=int, default=2)
    dep = sub.add_parser("deploy", help="deploy a Serve config file and wait until it runs")
    dep.add_argument("config", type=Path)
    dep.add_argument("--model-gpus", type=int, default=None, help="num_gpus per model replica")
    sub.add_parser("status", help="nodes and where each replica runs")
    add = sub.add_parser("add-worker", help="start one more worker node; prints its name")
    add.add_argument("--gpus", type=int, default=None)
    stop = sub.add_parser("stop-worker", help="stop one worker node")
    stop.add_argument("worker", help="its name as `status` shows it (worker-2) or its number (2)")
    stop.add_argument("--kill", action="store_true", help="SIGKILL (a crash), not a drain")
    sub.add_parser("down", help="stop every node this tool started")
    return p


def main(argv: list[str] | None = None) -> int:
    """Runs one command (`up`, `deploy`, `status`, `add-worker`, `stop-worker`, `down`); returns
    the exit status. A worker that does not exist is one line on stderr and status 1."""
    p = _parser()
    args = p.parse_args(argv)
    if args.cmd == "up":
        if args.state.exists():
            p.error(f"{args.state} exists: run `down` first (or pass another --state)")
        c = start_cluster(args.workers, args.gpus_per_worker, args.cpus_per_node,
                          fate_share=False)
        c.save(args.state)
        print(f"ray: {c.address}  dashboard: {c.dashboard_url}  serve: {c.http_url}")
        return 0
    if not args.state.exists():
        p.error(f"no cluster state at {args.state}: run `up` first")
    c = LocalCluster.load(args.state)
    if args.cmd == "deploy":
        c.deploy(args.config, model_gpus=args.model_gpus)
        print(f"running at {c.http_url}")
    elif args.cmd == "status":
        for n in [c.head, *c.workers]:
            print(f"{n.name:10} pid {n.pid:<8} gpus {n.num_gpus}  {'up' if n.running else 'stopped'}")
        for r in c.replicas():
            print(f"{r.app}/{r.deployment:10} {r.state:9} on {r.node}  gpus {r.gpus}")
    elif args.cmd == "add-worker":
        print(c.workers[c.add_worker(args.gpus)].name)
    elif args.cmd == "stop-worker":
        try:
            c.stop_worker(args.worker, graceful=not args.kill)
        except LookupError as exc:
            print(f"error: {exc.args[0]}", file=sys.stderr)
            return 1
    elif args.cmd == "down":
        c.stop()
        args.state.unlink()
        return 0
    c.save(args.state)
    return 0
