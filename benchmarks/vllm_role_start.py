"""How long one vLLM role takes to start in Ray Serve, and to answer again after its engine core
process is SIGKILLed, with vLLM's model in a worker process of its own or in the engine core's.

    .venv/bin/python benchmarks/vllm_role_start.py --multiprocessing 1
    .venv/bin/python benchmarks/vllm_role_start.py --multiprocessing 0

One role on the tests' tiny random Qwen3 (head_dim 32, built here), the tests' vLLM settings
(tests/apps.py: float32, eager, 1 GiB of KV cache), `VLLM_ENABLE_V1_MULTIPROCESSING` set to the
argument. Prints the start (deploy → running, s), three 64-token chats (s each), vLLM's processes
(ps names), and the seconds from the kill until a chat answers 200 again. Run it with
deployments/ray.env in the environment, as `make` does (`set -a; . deployments/ray.env`), and
RAY_AUTH_MODE=token; run nothing else beside it.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--multiprocessing", choices=["0", "1"], required=True,
                    help="VLLM_ENABLE_V1_MULTIPROCESSING of the role's engine")
    ap.add_argument("--model-dir", default="/tmp/triserve-vllm-role-start",
                    help="where the tiny Qwen3 is built (kept between runs)")
    args = ap.parse_args()

    import httpx
    import psutil
    import ray
    from ray import serve

    from apps import VLLM_TEST, vllm_role
    from serving import deploy, free_port
    from tiny_models import build_model

    model = Path(args.model_dir) / "qwen3"
    if not (model / "config.json").exists():
        build_model(model, "qwen3", head_dim=32)
    VLLM_TEST["env"] = {**VLLM_TEST["env"], "VLLM_ENABLE_V1_MULTIPROCESSING": args.multiprocessing}
    port = free_port()
    ray.init(address="local", num_cpus=8, include_dashboard=False, log_to_driver=False)
    serve.start(http_options={"host": "127.0.0.1", "port": port})
    try:
        t = time.monotonic()
        url = deploy("v", {"roles": {"instruct": vllm_role(model)}}, f"http://127.0.0.1:{port}",
                     timeout_s=600)
        print("start", round(time.monotonic() - t, 1), flush=True)
        body = {"model": "instruct", "messages": [{"role": "user", "content": "hi"}],
                "max_tokens": 64}
        for _ in range(3):
            t = time.monotonic()
            r = httpx.post(f"{url}/v1/chat/completions", json=body, timeout=60)
            print("chat", r.status_code, round(time.monotonic() - t, 2), flush=True)
        procs = [p for p in psutil.process_iter() if p.name().startswith("VLLM::")]
        print("processes", sorted(p.name() for p in procs), flush=True)
        for p in procs:
            if "EngineCore" in p.name():
                os.kill(p.pid, signal.SIGKILL)
        killed = time.monotonic()
        while True:
            try:
                r = httpx.post(f"{url}/v1/chat/completions", json=body, timeout=60)
                if r.status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            time.sleep(1)
        print("back after", round(time.monotonic() - killed, 1), flush=True)
    finally:
        serve.shutdown()
        ray.shutdown()


if __name__ == "__main__":
    main()
