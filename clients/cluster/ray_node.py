"""One Ray node as a process of its own: `ray start --block` on free ports, stopped by its pid.

`--block` keeps `ray start` in the foreground as the parent of the node's processes (GCS,
raylet, agents, workers): SIGTERM to it drains the node and stops them, SIGKILL is a crash, and
its process group (a session of its own) catches whatever is left. Nothing here looks processes
up by name, and `ray stop` (which stops every Ray on the machine) is never used.

Example::

    head = Node.start("head", root="/tmp/tsc-x", gpus=0, cpus=2, args=["--head", "--port=6390"])
    ...
    head.stop()
"""

from __future__ import annotations

import ctypes
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from clients.cluster.process_tree import descendants, group_members, kill_survivors
from clients.cluster.ray_env import free_port, with_ray_env

PROJECT_ROOT = Path(__file__).resolve().parents[2]
# Every per-node port gets a free one: several nodes share this machine, and so may other Rays.
_PORT_FLAGS = ("--node-manager-port", "--object-manager-port", "--metrics-export-port",
               "--dashboard-agent-listen-port", "--dashboard-agent-grpc-port",
               "--runtime-env-agent-port")


@dataclass
class Node:
    name: str
    pid: int
    num_gpus: int
    num_cpus: int
    root: str  # the cluster's directory: this node's log and its own Ray temp dir live there
    args: list[str] = field(default_factory=list)  # role flags (--head ... or --address=...)
    fate_share: bool = True  # SIGTERM to the node if the starting process dies
    running: bool = True
    _proc: subprocess.Popen | None = field(default=None, repr=False, compare=False)

    @property
    def log(self) -> Path:
        return Path(self.root) / f"{self.name}.log"

    @property
    def temp_dir(self) -> str:
        # One per node: nodes that start together in one temp dir race for the same socket and
        # log file names, and one of them fails to register. Also what tells our pids from others.
        return str(Path(self.root) / self.name)

    @classmethod
    def start(cls, name: str, root: str, gpus: int, cpus: int, args: list[str],
              fate_share: bool = True) -> Node:
        """Launches the node and returns at once; the caller waits until Ray lists it alive."""
        node = cls(name, 0, gpus, cpus, root, list(args), fate_share)
        node._launch()
        return node

    def _launch(self) -> None:
        ports = [f"{flag}={free_port()}" for flag in _PORT_FLAGS]
        cmd = [ray_bin(), "start", "--block", *self.args, *ports, f"--node-name={self.name}",
               "--node-ip-address=127.0.0.1", f"--num-gpus={self.num_gpus}",
               f"--num-cpus={self.num_cpus}", f"--temp-dir={self.temp_dir}",
               "--object-store-memory=100000000", "--disable-usage-stats"]
        with open(self.log, "ab") as out:
            self._proc = subprocess.Popen(
                cmd, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                env=node_env(), cwd=PROJECT_ROOT, start_new_session=True,
                preexec_fn=_term_on_parent_death if self.fate_share else None)
        self.pid, self.running = self._proc.pid, True

    def exit_code(self) -> int | None:
        """The exit status once the node's `ray start` has exited, else None."""
        if self._proc is not None:
            return self._proc.poll()
        return None if _is_ours(self.pid, self.temp_dir) else -1

    def restart(self) -> None:
        self.stop(graceful=False)
        self._launch()

    def stop(self, graceful: bool = True, timeout_s: float = 45.0) -> None:
        """SIGTERM (drain, then stop) or SIGKILL (a crash) to our pid, then its process group."""
        if not self.running:
            return
        self.running = False
        if self._proc is None and not _is_ours(self.pid, self.temp_dir):
            return  # gone already, or the pid now belongs to someone else
        below = descendants(self.pid)  # those that leave the process group, HAProxy among them
        try:
            os.kill(self.pid, signal.SIGTERM if graceful else signal.SIGKILL)
        except ProcessLookupError:
            pass
        if not self._wait_exit(timeout_s):
            os.kill(self.pid, signal.SIGKILL)
            self._wait_exit(10.0)
        try:  # the node's own session (pgid = its pid): whatever the parent left behind
            os.killpg(self.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        kill_survivors(below)
        deadline = time.monotonic() + 10.0
        while self.leftovers() and time.monotonic() < deadline:
            time.sleep(0.1)

    def leftovers(self) -> list[int]:
        """Live processes still in the node's process group (empty once it is stopped)."""
        return group_members(self.pid)

    def _wait_exit(self, timeout_s: float) -> bool:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.exit_code() is not None:
                return True
            time.sleep(0.2)
        return False

    def log_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def to_dict(self) -> dict:
        return {k: v for k, v in vars(self).items() if k != "_proc"}


def ray_bin() -> str:
    local = Path(sys.executable).with_name("ray")  # this venv's ray, whatever PATH says
    return str(local) if local.exists() else "ray"


def node_env() -> dict:
    # Our nodes must never attach to another Ray found through the environment.
    env = {k: v for k, v in with_ray_env().items() if k not in ("RAY_ADDRESS", "RAY_NAMESPACE")}
    env.setdefault("RAY_AUTH_MODE", "token")
    env.setdefault("TOKENIZERS_PARALLELISM", "false")
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(PROJECT_ROOT), env.get("PYTHONPATH")]))
    return env


def ensure_token() -> None:
    """Token auth: `ray start` needs ~/.ray/auth_token (or RAY_AUTH_TOKEN); make it if missing.

    All nodes run on this machine as this user, so they all read the same file.
    """
    if node_env()["RAY_AUTH_MODE"] == "token" and not os.environ.get("RAY_AUTH_TOKEN"):
        subprocess.run([ray_bin(), "get-auth-token", "--generate"], env=node_env(),
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)


def _term_on_parent_death() -> None:
    # Runs in the child: SIGTERM when the parent dies, so a killed test run leaves no nodes.
    # Linux means the parent *thread*: start fate-sharing nodes from a long-lived thread.
    if sys.platform.startswith("linux"):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


def _is_ours(pid: int, temp_dir: str) -> bool:
    # A pid from a state file may have been reused: only a `ray start` with our temp dir counts.
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return False
    return b"start" in cmdline and f"--temp-dir={temp_dir}".encode() in cmdline
