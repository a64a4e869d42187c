"""A real PostgreSQL server for the vote tests: Debian's `postgresql` package, a cluster made
with initdb in a temporary folder, on a free loopback port, stopped at the end.

PostgreSQL refuses to run as root: as root the server runs as the `postgres` user the package
creates (runuser). Where the binaries or that user are missing, `unavailable()` says why, and the
tests that need the server are skipped with that reason.
"""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

from serving import free_port


def _bin() -> Path | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    return Path(found[-1]).parent if found else None


def unavailable() -> str | None:
    """Why no server can be started here, or None."""
    if _bin() is None:
        return "PostgreSQL's server is not installed (Debian: apt-get install postgresql)"
    if os.geteuid() == 0 and subprocess.run(["id", "postgres"], capture_output=True).returncode:
        return "running as root, and there is no `postgres` user to run the server as"
    return None


@contextmanager
def postgres_server():
    """Starts a throwaway server; yields its SQLAlchemy URL (database `triserve`, user
    `postgres`, trust authentication on loopback). Stops it and removes its files after."""
    bindir = _bin()
    root = Path(tempfile.mkdtemp(prefix="triserve-pg-"))
    data, port = root / "data", free_port()
    as_user = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
    if as_user:
        shutil.chown(root, "postgres", "postgres")
    run = lambda *cmd: subprocess.run([*as_user, *cmd], check=True, capture_output=True,  # noqa: E731
                                      timeout=120)
    run(str(bindir / "initdb"), "-D", str(data), "-U", "postgres", "--auth=trust", "-E", "UTF8")
    run(str(bindir / "pg_ctl"), "-D", str(data), "-l", str(root / "log"), "-w", "-t", "60",
        "-o", f"-p {port} -k {root} -c listen_addresses=127.0.0.1 -c fsync=on", "start")
    try:
        run(str(bindir / "createdb"), "-h", "127.0.0.1", "-p", str(port), "-U", "postgres",
            "triserve")
        yield f"postgresql+psycopg://postgres@127.0.0.1:{port}/triserve"
    finally:
        run(str(bindir / "pg_ctl"), "-D", str(data), "-m", "fast", "-w", "stop")
        for _ in range(20):
            try:
                shutil.rmtree(root)
                break
            except OSError:
                time.sleep(0.1)
