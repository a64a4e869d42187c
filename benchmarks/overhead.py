"""Serving overhead: the three roles on a scripted engine that answers at once (no model), so
what is timed is the graph itself: HTTP, the proxy, the ingress, handles, the replica's batching.

    .venv/bin/python benchmarks/overhead.py
    .venv/bin/python benchmarks/overhead.py --requests 400 --concurrency 32
    .venv/bin/python benchmarks/overhead.py --wait-s 0     # without the batch's wait to fill

Reports the median and p99 round trip of one request at a time (a one-role chat completion and a
three-role compare), and the requests/s the graph sustains under closed-loop load.
"""

from __future__ import annotations

import argparse
import asyncio
import time

from common import LocalServe, Timed, closed_loop, http_client, median, percentile, report

INSTANT = {"model": {"source": "local", "path": "/nonexistent"}, "engine": "scripted",
           "served_model_name": "scripted",
           "scripted": {"tokens": ["Hello", " there", "."], "prefill_s": 0.0, "token_s": 0.0}}

ROUTES = {
    "chat (1 role)": ("/v1/chat/completions",
                      {"model": "instruct", "messages": [{"role": "user", "content": "hi"}]}),
    "compare (3 roles)": ("/v1/compare", {"prompt": "hi"}),
}


async def post(client, url: str, body: dict) -> Timed:
    start = time.perf_counter()
    resp = await client.post(url, json=body)
    if resp.status_code != 200:
        raise RuntimeError(f"{resp.status_code}: {resp.text[:200]}")
    return Timed(time.perf_counter() - start)


async def measure(base: str, n: int, concurrency: int) -> list[dict]:
    rows = []
    async with http_client() as client:
        for name, (path, body) in ROUTES.items():
            url = base + path
            for _ in range(20):  # warm up connections and every replica's code paths
                await post(client, url, body)
            one = [(await post(client, url, body)).latency_s for _ in range(n)]
            results, wall = await closed_loop(concurrency, [body] * n, lambda b: post(client, url, b))
            rows.append({"route": name, "p50_ms": round(1000 * median(one), 2),
                         "p99_ms": round(1000 * percentile(one, 99), 2),
                         "req_s": round(len(results) / wall, 1), "concurrency": concurrency})
            print(rows[-1], flush=True)
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--requests", type=int, default=300)
    ap.add_argument("--concurrency", type=int, default=32)
    ap.add_argument("--wait-s", type=float, default=0.01,
                    help="the roles' batching.batch_wait_timeout_s (the config's default: 0.01)")
    args = ap.parse_args()
    batching = {"batch_wait_timeout_s": args.wait_s}
    roles = {r: dict(INSTANT, reasoning=r == "reasoning", batching=batching)
             for r in ("base", "instruct", "reasoning")}
    with LocalServe() as local:
        url = local.deploy("overhead", {"roles": roles})
        rows = asyncio.run(measure(url, args.requests, args.concurrency))
    report("serving overhead (scripted engine, instant)", rows, {"setting": vars(args)})


if __name__ == "__main__":
    main()
