"""Batching through HTTP: output tokens/s at concurrency 1, 4, 8, 16 on the demo model, with
dynamic batching on (max_batch_size 16; requests join the running batch), on without joining
(each batch runs to completion), and off (max_batch_size 1), interleaved level by level.

    .venv/bin/python benchmarks/http_batching.py
    .venv/bin/python benchmarks/http_batching.py --levels 1,8 --max-new-tokens 32 --threads 1

Goal: batched tokens/s at concurrency 8 ≥ 3.5× batched tokens/s at concurrency 1.
"""

from __future__ import annotations

import argparse
import asyncio

from common import LocalServe, add_load_args, chat_level, report, smollm2_role


async def run(args, urls: dict[str, str]) -> list[dict]:
    rows = []
    base = {}
    for c in args.levels:
        n = max(args.min_requests, args.rounds * c)
        for name, url in urls.items():
            r = await chat_level(url + "/v1/chat/completions", "instruct", c, n, args.max_new_tokens)
            base.setdefault(name, r["tok_s"])  # concurrency 1 is the first level
            rows.append({"batching": name, "concurrency": c, "tok_s": round(r["tok_s"], 1),
                         "x_conc1": round(r["tok_s"] / base[name], 2),
                         "ttft_p50_s": round(r["ttft_p50_s"], 3), "requests": r["requests"]})
            print(rows[-1], flush=True)
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_load_args(ap, levels="1,4,8,16")
    ap.add_argument("--wait-s", type=float, default=0.01)
    args = ap.parse_args()
    args.levels = [int(x) for x in args.levels.split(",")]
    if args.levels[0] != 1:
        args.levels.insert(0, 1)
    batching = {"max_batch_size": args.max_batch_size, "batch_wait_timeout_s": args.wait_s}
    roles = {
        "on": smollm2_role(args.max_new_tokens, args.threads, dtype=args.dtype, batching=batching),
        # The same batches, but each runs to completion before the next starts (no joining).
        "on-no-join": smollm2_role(args.max_new_tokens, args.threads, dtype=args.dtype,
                                   batching={**batching, "continuous": False}),
        "off": smollm2_role(args.max_new_tokens, args.threads, 1, 0.0, dtype=args.dtype),
    }
    with LocalServe() as local:
        urls = {name: local.deploy(f"batching-{name}", {"roles": {"instruct": role}})
                for name, role in roles.items()}
        rows = asyncio.run(run(args, urls))
    at8 = {r["batching"]: r for r in rows if r["concurrency"] == 8}
    extra = {"setting": vars(args)}
    if "on" in at8:
        extra["batched_conc8_over_conc1"] = at8["on"]["x_conc1"]
        extra["goal_conc8_ge_3.5x"] = at8["on"]["x_conc1"] >= 3.5
        extra["batched_over_unbatched_at_8"] = round(at8["on"]["tok_s"] / at8["off"]["tok_s"], 2)
        extra["joining_over_no_join_at_8"] = round(at8["on"]["tok_s"] / at8["on-no-join"]["tok_s"], 2)
    report("HTTP batching: tokens/s by concurrency", rows, extra)


if __name__ == "__main__":
    main()
