"""`python -m clients.cluster`, run in-process: up, status, down through the state file, and
`stop-worker` by the name `status` shows.

A head alone keeps it short: workers, and what lands on them, are the scheduling test's subject.
`down` runs in a fresh `LocalCluster` loaded from the file, so it stops the nodes by pid alone.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from clients.cluster.cli import main
from clients.cluster.local_cluster import LocalCluster
from clients.cluster.process_tree import group_members
from clients.cluster.ray_node import Node


def alive(pid: int) -> bool:
    try:
        return b"start" in Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return False


@pytest.mark.timeout(180)
def test_up_status_down_stops_every_process_it_started(tmp_path, capsys):
    state = tmp_path / "cluster.json"
    try:
        assert main(["--state", str(state), "up", "--workers", "0"]) == 0
        saved = json.loads(state.read_text())
        head = saved["head"]
        assert head["num_gpus"] == 0 and alive(head["pid"]) and saved["workers"] == []
        assert f"dashboard: http://127.0.0.1:{saved['dashboard_port']}" in capsys.readouterr().out

        assert main(["--state", str(state), "status"]) == 0
        assert f"head       pid {head['pid']}" in capsys.readouterr().out

        with pytest.raises(SystemExit):  # one cluster per state file
            main(["--state", str(state), "up"])
        assert main(["--state", str(state), "down"]) == 0
        assert not state.exists() and not alive(head["pid"])
        assert group_members(head["pid"]) == []  # GCS, raylet, dashboard, agents: all gone
        assert not Path(saved["root"]).exists()
    finally:
        if state.exists():  # a failed assertion must not leave nodes behind
            main(["--state", str(state), "down"])


def test_commands_need_a_cluster_first(tmp_path):
    with pytest.raises(SystemExit):
        main(["--state", str(tmp_path / "none.json"), "status"])


def _stand_in(temp_dir: Path) -> subprocess.Popen:
    """A process that the cluster's pid checks take for one of its nodes (`start` and its temp
    dir on the command line), without Ray: stopping it is the part under test. Returned once
    its command line is the stand-in's: until the child has exec'd, /proc shows the parent's,
    and the pid checks would take it for a node that is not running."""
    proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)", "start",
                             f"--temp-dir={temp_dir}"], start_new_session=True)
    mark = f"--temp-dir={temp_dir}".encode()
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if mark in Path(f"/proc/{proc.pid}/cmdline").read_bytes():
                break
        except OSError:
            pass
        time.sleep(0.02)
    return proc


def test_stop_worker_takes_the_name_status_shows_or_its_number(tmp_path, capsys):
    root, state = tmp_path / "c", tmp_path / "cluster.json"
    procs = {i: _stand_in(root / f"worker-{i}") for i in (1, 2)}
    try:
        cluster = LocalCluster(str(root), 1, 2, 3, gpus_per_worker=2, cpus_per_node=1,
                               head=Node("head", 0, 0, 1, str(root), running=False),
                               workers=[Node(f"worker-{i}", p.pid, 2, 1, str(root))
                                        for i, p in procs.items()])
        assert cluster.worker("worker-2") is cluster.worker("2") is cluster.worker(1)
        cluster.save(state)

        assert main(["--state", str(state), "stop-worker", "2", "--kill"]) == 0
        assert procs[2].wait(timeout=10) == -signal.SIGKILL and procs[1].poll() is None
        running = {w["name"]: w["running"] for w in json.loads(state.read_text())["workers"]}
        assert running == {"worker-1": True, "worker-2": False}

        assert main(["--state", str(state), "stop-worker", "worker-1"]) == 0  # a drain: SIGTERM
        assert procs[1].wait(timeout=10) == -signal.SIGTERM
        capsys.readouterr()

        for missing in ("3", "worker-3", "0", "head"):
            assert main(["--state", str(state), "stop-worker", missing, "--kill"]) == 1
            err = capsys.readouterr().err
            assert err == (f"error: no worker {missing!r} in this cluster "
                           "(workers: worker-1, worker-2)\n")
    finally:
        for p in procs.values():
            p.kill()
            p.wait()
