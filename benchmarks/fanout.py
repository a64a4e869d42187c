"""Fan-out: `/v1/compare` to the three roles ÷ the slowest single role for the same prompt, and
÷ the three roles called one after another (as the study's notebook did).

    .venv/bin/python benchmarks/fanout.py                   # scripted roles and SmolLM2 roles
    .venv/bin/python benchmarks/fanout.py --engine scripted --reps 20

Two graphs: roles on the scripted engine with set prefill and per-token delays (what the graph's
fan-out adds, with no competition for compute: the reference setup gives each role its own GPU),
and the three roles on SmolLM2 on this machine's CPU cores (three models computing at once on
two cores contend for them, so there the ratio also measures the contention).
Goals: compare ÷ slowest single ≤ 1.10; compare ÷ sequential ≤ 0.40.
"""

from __future__ import annotations

import argparse
import asyncio
import time

from common import LocalServe, http_client, median, report, smollm2_role

ROLES = ("base", "instruct", "reasoning")
PROMPT = "Explain in detail how a steam engine works."


def scripted_roles() -> dict:
    """Three scripted roles of the same length (the reasoning one thinks first), so that the
    ideal compare ÷ sequential is 1/3 and any excess is the graph's."""
    def role(n_tokens: int, think: int = 0) -> dict:
        return {"model": {"source": "local", "path": "/nonexistent"}, "engine": "scripted",
                "served_model_name": "scripted", "reasoning": think > 0,
                "scripted": {"tokens": [f" w{i}" for i in range(n_tokens)],
                             "think": [f" t{i}" for i in range(think)],
                             "prefill_s": 0.05, "token_s": 0.01},
                "defaults": {"max_new_tokens": 256, "temperature": 0.0}}
    return {"base": role(30), "instruct": role(30), "reasoning": role(20, think=10)}


def smollm2_roles(max_new_tokens: int, dtype: str) -> dict:
    return {
        "base": smollm2_role(max_new_tokens, threads=1, prompt_format="raw", dtype=dtype),
        "instruct": smollm2_role(max_new_tokens, threads=1, dtype=dtype),
        "reasoning": smollm2_role(max_new_tokens, threads=1, reasoning=True, dtype=dtype),
    }


async def timed_compare(client, url: str, roles: list[str]) -> float:
    start = time.perf_counter()
    resp = await client.post(url, json={"prompt": PROMPT, "roles": roles})
    resp.raise_for_status()
    errors = [r["error"] for r in resp.json()["results"] if r.get("error")]
    if errors:
        raise RuntimeError(f"a role failed: {errors[0]}")
    return time.perf_counter() - start


async def measure(url: str, reps: int) -> dict:
    url = url + "/v1/compare"
    fan, slowest, sequential = [], [], []
    async with http_client() as client:
        await timed_compare(client, url, list(ROLES))  # warm up
        for _ in range(reps):  # interleaved: every rep measures all three ways back to back
            singles = [await timed_compare(client, url, [r]) for r in ROLES]
            slowest.append(max(singles))
            sequential.append(sum(singles))  # the three called one after another
            fan.append(await timed_compare(client, url, list(ROLES)))
    return {
        "compare_s": round(median(fan), 3),
        "slowest_single_s": round(median(slowest), 3),
        "sequential_s": round(median(sequential), 3),
        "compare_over_slowest": round(median([f / s for f, s in zip(fan, slowest)]), 3),
        "compare_over_sequential": round(median([f / s for f, s in zip(fan, sequential)]), 3),
        "ideal_over_sequential": round(median([m / s for m, s in zip(slowest, sequential)]), 3),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--engine", choices=["scripted", "smollm2", "both"], default="both")
    ap.add_argument("--reps", type=int, default=10)
    ap.add_argument("--max-new-tokens", type=int, default=32)
    ap.add_argument("--dtype", default="bfloat16", help="the SmolLM2 roles' dtype")
    args = ap.parse_args()
    graphs = {"scripted": scripted_roles(), "smollm2": smollm2_roles(args.max_new_tokens, args.dtype)}
    names = list(graphs) if args.engine == "both" else [args.engine]
    rows = []
    with LocalServe() as local:
        for name in names:
            url = local.deploy(f"fanout-{name}", {"roles": graphs[name]})
            rows.append({"roles_on": name, **asyncio.run(measure(url, args.reps))})
            local.delete(f"fanout-{name}")
            print(rows[-1], flush=True)
    report("fan-out", rows, {"setting": vars(args),
                             "goals": "compare_over_slowest <= 1.10, compare_over_sequential <= 0.40"})


if __name__ == "__main__":
    main()
