"""`python -m clients.cluster.local_cluster`, run in-process: up, status, down through the state file.

A head alone keeps it short: workers, and what lands on them, are the scheduling test's subject.
`down` runs in a fresh `LocalCluster` loaded from the file, so it stops the nodes by pid alone.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from clients.cluster.cli import main
from clients.cluster.ray_node import group_members


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
