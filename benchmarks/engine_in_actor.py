"""The engine alone at batch 8, float32 and bfloat16, in this process and in a Ray actor (where
OMP_NUM_THREADS is 1, as in a replica), optionally beside a process that keeps half a core busy:
does the replica's environment, or contention with the serving processes, change the step?

    .venv/bin/python benchmarks/engine_in_actor.py
    .venv/bin/python benchmarks/engine_in_actor.py --where local --burn

Tokens/s of 8 chat prompts decoded together (32 new tokens, greedy), `--reps` runs each.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time

from common import PROMPTS, ROOT, report, smollm2_role

BURNER = """
import time
while True:
    t = time.perf_counter()
    while time.perf_counter() - t < 0.005:
        pass
    time.sleep(0.005)
"""


def decode_tok_s(dtype: str, reps: int, threads: int) -> dict:
    sys.path[:0] = [str(ROOT), str(ROOT / "benchmarks")]  # also inside a Ray worker
    import torch

    from serve.config import RoleConfig
    from serve.generation import GenerationRequest
    from serve.engines.hf.engine import HFEngine
    from serve.api.protocol import GenerationParams

    engine = HFEngine(RoleConfig.model_validate(smollm2_role(32, threads, 16, dtype=dtype)))
    engine.load()
    rates = []
    for _ in range(reps):
        reqs = [engine.prepare(GenerationRequest(
            request_id=f"r{i}", messages=[{"role": "user", "content": PROMPTS[i]}],
            params=GenerationParams(max_new_tokens=32, temperature=0.0))) for i in range(8)]
        start, chunks = time.perf_counter(), 0
        for step in engine.steps(reqs):
            chunks += sum(1 for c in step if c is not None)
        rates.append(round(chunks / (time.perf_counter() - start), 1))
    return {"tok_s": rates, "omp_num_threads": os.environ.get("OMP_NUM_THREADS"),
            "torch_threads": torch.get_num_threads()}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--where", default="local,actor")
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--burn", action="store_true", help="keep half a core busy meanwhile")
    args = ap.parse_args()
    burner = subprocess.Popen([sys.executable, "-c", BURNER]) if args.burn else None
    rows = []
    try:
        for where in args.where.split(","):
            if where == "actor":
                import ray

                ray.init(num_cpus=4, include_dashboard=False, log_to_driver=False,
                         runtime_env={"env_vars": {"TOKENIZERS_PARALLELISM": "false"}})
                remote = ray.remote(num_cpus=1)(decode_tok_s)
                run = lambda d: ray.get(remote.remote(d, args.reps, args.threads))  # noqa: E731
            else:
                run = lambda d: decode_tok_s(d, args.reps, args.threads)  # noqa: E731
            for dtype in ("float32", "bfloat16"):
                rows.append({"where": where, "dtype": dtype, **run(dtype)})
                print(rows[-1], flush=True)
            if where == "actor":
                ray.shutdown()
    finally:
        if burner:
            burner.kill()
            burner.wait()
    report("engine at batch 8: plain process vs Ray actor", rows, {"setting": vars(args)})


if __name__ == "__main__":
    main()
