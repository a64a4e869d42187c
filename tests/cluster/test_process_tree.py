"""What the launchers stop besides their process group: a process below theirs that left the
group and outlived its parent, as HAProxy does when Ray stops around Serve's HAProxyManager
(clients/cluster/process_tree.py `descendants`, `kill_survivors`; used by `serve_run` and
`Node.stop`)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from clients.cluster.process_tree import descendants, kill_survivors


def alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def test_an_orphan_in_a_session_of_its_own_is_found_and_stopped():
    # A parent whose child starts a session of its own (as Ray's workers leave the group).
    parent = subprocess.Popen(["bash", "-c", "setsid sleep 300 & echo $!; wait"],
                              stdout=subprocess.PIPE, text=True, start_new_session=True)
    try:
        orphan = int(parent.stdout.readline())
        below = descendants(parent.pid)
        assert orphan in below
        os.killpg(parent.pid, signal.SIGKILL)  # the group goes; the orphan is in another
        parent.wait()
        time.sleep(0.2)
        assert alive(orphan)
        kill_survivors(below)
        deadline = time.monotonic() + 5
        while alive(orphan) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not alive(orphan)
    finally:
        parent.kill()
        parent.wait()


def test_a_pid_given_to_another_process_is_left_alone():
    other = subprocess.Popen(["sleep", "300"])
    try:
        kill_survivors({other.pid: "0"})  # same pid, another start time: not the one recorded
        time.sleep(0.2)
        assert other.poll() is None
    finally:
        other.kill()
        other.wait()


def test_the_makefiles_wrapper_stops_what_outlives_its_command():
    """`python -m clients.cluster.ray_env CMD` (how `make demo` runs `serve run`): a process CMD
    left running in a session of its own, as HAProxy outlives a Ray stopped around it, is stopped
    when CMD ends, and CMD's exit status is kept."""
    root = Path(__file__).resolve().parents[2]
    done = subprocess.run([sys.executable, "-m", "clients.cluster.ray_env", "bash", "-c",
                           "setsid sleep 300 & echo $!; exit 3"], cwd=root, capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 3
    orphan = int(done.stdout.split()[0])
    deadline = time.monotonic() + 5
    while alive(orphan) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not alive(orphan)
