"""The processes below a launcher's, read from /proc: what `serve_run`, `Node.stop` and
`python -m clients.cluster.ray_env` stop besides a process group. Ray's workers run in process
groups of their own, and HAProxy, a child of Serve's HAProxyManager actor, outlives that actor
when Ray stops around it (reparented to init, or to a subreaper). Linux only (/proc, `man 5
proc`)."""

from __future__ import annotations

import os
import signal
from pathlib import Path


def _stat(pid_dir: Path) -> list[str] | None:
    """The fields of /proc/PID/stat after the command (state first: `man 5 proc` numbers them
    from 3), or None where the process is gone."""
    try:
        return (pid_dir / "stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None


def _live() -> dict[int, list[str]]:
    """Every live (not zombie) process: pid → its `_stat` fields."""
    out = {}
    for pid_dir in Path("/proc").glob("[0-9]*"):
        fields = _stat(pid_dir)
        if fields and fields[0] != "Z":
            out[int(pid_dir.name)] = fields
    return out


def group_members(pgid: int) -> list[int]:
    """Pids of the live (not zombie) processes whose process group is `pgid`."""
    return [pid for pid, fields in _live().items() if int(fields[2]) == pgid]


def descendants(pid: int) -> dict[int, str]:
    """The live processes below `pid` now: pid → start time (field 22 of /proc/PID/stat, in
    clock ticks since boot), so that `kill_survivors` can stop them later even after they leave
    `pid`'s process group or lose their parent. Ray's workers run in process groups of their
    own, and HAProxy, a child of Serve's HAProxyManager actor, outlives that actor when Ray stops
    around it."""
    live = _live()
    children: dict[int, list[int]] = {}
    for child, fields in live.items():
        children.setdefault(int(fields[1]), []).append(child)
    out, todo = {}, [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            out[child] = live[child][19]
            todo.append(child)
    return out


def kill_survivors(procs: dict[int, str]) -> None:
    """SIGKILL to each of `procs` (from `descendants`) still alive as the same process (its
    start time unchanged: a pid the kernel has given to another process is left alone)."""
    for pid, start in procs.items():
        fields = _stat(Path(f"/proc/{pid}"))
        if fields and fields[0] != "Z" and fields[19] == start:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass  # gone since
