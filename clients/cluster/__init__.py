"""Local-cluster tools: Ray nodes as processes on this machine, for trying multi-node serving
without a cloud. They need Ray (`pip install 'triserve[serve]'`); the SDK never imports them.

- `local_cluster.py`: `start_cluster` / `LocalCluster` (a head and GPU workers, deploy, status).
- `cli.py`: the same from a shell, `python -m clients.cluster up|deploy|status|...|down`.
- `ray_node.py`: one `ray start --block` node, stopped by its pid.
- `serve_process.py`: `serve run` of a config in a process of its own.

    from clients.cluster import start_cluster

    with start_cluster(workers=2, gpus_per_worker=2) as cluster:
        cluster.deploy("deployments/demo.yaml", model_gpus=1)
"""

from clients.cluster.local_cluster import LocalCluster, Replica, start_cluster

__all__ = ["LocalCluster", "Replica", "start_cluster"]
