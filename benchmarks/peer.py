"""Peer comparison: the demo model behind `transformers serve --continuous-batching` (the
OpenAI-compatible server that ships with transformers) and behind triserve, the same load on
both: streaming chat requests, greedy, 64 new tokens, at concurrency 1, 4 and 8.

    .venv/bin/python benchmarks/peer.py
    .venv/bin/python benchmarks/peer.py --levels 8 --rounds 4

Both load the same safetensors weights (the converted copy of the demo GGUF), on all cores.
Levels run peer then ours, back to back. Floor: ours ≥ 1.0× at every level; aim: 2× at 8.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from common import (PROMPTS, LocalServe, closed_loop, converted_smollm2, free_port, http_client,
                    median, report, smollm2_role, stream_chat)


class PeerServer:
    """`transformers serve` in a subprocess on a free port, stopped by its pid."""

    def __init__(self, model_dir: str, extra: list[str]):
        self.model_dir = model_dir
        self.extra = extra

    def __enter__(self) -> "PeerServer":
        self.port = free_port()
        exe = Path(sys.executable).with_name("transformers")
        cmd = [str(exe), "serve", self.model_dir, "--continuous-batching", "--device", "cpu",
               "--host", "127.0.0.1", "--port", str(self.port), *self.extra]
        self.log = open(os.environ.get("PEER_LOG", os.devnull), "w")
        self.proc = subprocess.Popen(cmd, stdout=self.log, stderr=subprocess.STDOUT)
        self.url = f"http://127.0.0.1:{self.port}"
        self._wait_healthy()
        return self

    def _wait_healthy(self, timeout_s: float = 600) -> None:
        import httpx

        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"transformers serve exited with {self.proc.returncode}")
            try:
                if httpx.get(self.url + "/health", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.5)
        raise TimeoutError("transformers serve did not come up")

    def __exit__(self, *exc) -> None:
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.log.close()


async def level(url: str, model: str, concurrency: int, n: int, max_new_tokens: int) -> dict:
    jobs = [{"model": model, "max_tokens": max_new_tokens, "temperature": 0,
             "messages": [{"role": "user", "content": PROMPTS[i % len(PROMPTS)]}]} for i in range(n)]
    async with http_client() as client:
        await stream_chat(client, url, jobs[0])  # warm the path
        results, wall = await closed_loop(concurrency, jobs, lambda b: stream_chat(client, url, b))
    bad = [r for r in results if r.status != 200]
    if bad:
        raise RuntimeError(f"{len(bad)} requests failed at {url}: {bad[0].status} {bad[0].text[:200]}")
    return {"tok_s": sum(r.tokens for r in results) / wall,
            "ttft_p50_s": median([r.ttft_s for r in results]),
            "tokens_per_request": median([r.tokens for r in results])}


async def run(args, ours: str, peer: str, peer_model: str) -> list[dict]:
    rows = []
    for c in args.levels:
        n = max(args.min_requests, args.rounds * c)
        p = await level(peer + "/v1/chat/completions", peer_model, c, n, args.max_new_tokens)
        o = await level(ours + "/v1/chat/completions", "instruct", c, n, args.max_new_tokens)
        rows.append({"concurrency": c, "peer_tok_s": round(p["tok_s"], 1),
                     "ours_tok_s": round(o["tok_s"], 1), "ours_x": round(o["tok_s"] / p["tok_s"], 2),
                     "peer_ttft_p50_s": round(p["ttft_p50_s"], 3),
                     "ours_ttft_p50_s": round(o["ttft_p50_s"], 3),
                     "tokens_per_req": f"{p['tokens_per_request']:g}/{o['tokens_per_request']:g}"})
        print(rows[-1], flush=True)
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--levels", default="1,4,8")
    ap.add_argument("--max-new-tokens", type=int, default=64)
    ap.add_argument("--rounds", type=int, default=2, help="requests per client at each level")
    ap.add_argument("--min-requests", type=int, default=4)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--max-batch-size", type=int, default=16)
    ap.add_argument("--dtype", default="auto", help="ours: the role's dtype")
    ap.add_argument("--peer-args", default="", help="extra flags for transformers serve")
    args = ap.parse_args()
    args.levels = [int(x) for x in args.levels.split(",")]
    model_dir = converted_smollm2()
    role = smollm2_role(args.max_new_tokens, args.threads, args.max_batch_size, dtype=args.dtype)
    with LocalServe() as local, PeerServer(model_dir, args.peer_args.split()) as peer:
        ours = local.deploy("peer-ours", {"roles": {"instruct": role}})
        rows = asyncio.run(run(args, ours, peer.url, model_dir))
    extra = {"setting": vars(args), "floor_met": all(r["ours_x"] >= 1.0 for r in rows)}
    at8 = [r for r in rows if r["concurrency"] == 8]
    if at8:
        extra["aim_2x_at_8_met"] = at8[0]["ours_x"] >= 2.0
    report("peer: transformers serve --continuous-batching vs triserve", rows, extra)


if __name__ == "__main__":
    main()
