"""The vllm engine alone, in-process (no Ray, no HTTP): the engine seam's `generate` on the demo
model, to tell the engine's speed from the serving path's. Also compares vLLM with and without
torch.compile (`enforce_eager`): start time and tokens/s.

    .venv/bin/python benchmarks/vllm_engine.py                   # compiled and eager, bfloat16
    .venv/bin/python benchmarks/vllm_engine.py --modes compiled --levels 1,8,16

For each mode: the engine's start (model load, compile, KV cache) in seconds, then at each level
`concurrency` greedy requests of 64 new tokens at once; tokens/s = their tokens ÷ wall time.
Prints one JSON line per mode and a `JSON {...}` line.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time

from common import converted_smollm2, machine  # noqa: F401  (puts the project on the path)


async def run_mode(eager: bool, args) -> dict:
    from serve.config import RoleConfig
    from serve.engines.vllm.engine import VLLMEngine
    from serve.generation import GenerationRequest
    from serve.api.protocol import GenerationParams

    cfg = RoleConfig.model_validate({
        "model": {"source": "local", "path": converted_smollm2()}, "engine": "vllm",
        "vllm": {"engine_kwargs": {"max_model_len": 2048, "dtype": args.dtype, "enforce_eager": eager},
                 "env": {"VLLM_CPU_KVCACHE_SPACE": "2"}},
    })
    engine = VLLMEngine(cfg)
    start = time.perf_counter()
    await engine.start()
    row = {"mode": "eager" if eager else "compiled", "start_s": round(time.perf_counter() - start, 1)}
    await engine.warm_up()

    async def one(i: int) -> int:
        req = GenerationRequest(request_id=f"r{i}", prompt=f"Write a long story about cat number {i}.",
                                params=GenerationParams(max_new_tokens=args.max_tokens, temperature=0.0))
        tokens = 0
        async for chunk in engine.stream(engine.prepare(req)):
            tokens = chunk.completion_tokens or tokens
        return tokens

    for c in args.levels:
        t = time.perf_counter()
        tokens = sum(await asyncio.gather(*(one(i) for i in range(c))))
        row[f"c{c}_tok_s"] = round(tokens / (time.perf_counter() - t), 1)
    engine.shutdown()
    return row


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--modes", default="compiled,eager")
    ap.add_argument("--levels", default="1,8")
    ap.add_argument("--max-tokens", type=int, default=64)
    ap.add_argument("--dtype", default="bfloat16", choices=["bfloat16", "float32"])
    args = ap.parse_args()
    args.levels = [int(x) for x in args.levels.split(",")]
    rows = []
    for mode in args.modes.split(","):
        rows.append(asyncio.run(run_mode(mode == "eager", args)))
        print(json.dumps(rows[-1]), flush=True)
    print("JSON " + json.dumps({"benchmark": "vllm_engine", "machine": machine(),
                                "setting": vars(args), "rows": rows}))


if __name__ == "__main__":
    main()
