"""Peer comparison: the demo model behind `transformers serve --continuous-batching` (the
OpenAI-compatible server that ships with transformers) and behind triserve, the same load on
both: streaming chat requests, greedy, 64 new tokens, at concurrency 1, 4 and 8.

    .venv/bin/python benchmarks/peer.py
    .venv/bin/python benchmarks/peer.py --levels 8 --rounds 4

Both load the same safetensors weights (the converted copy of the demo GGUF), on all cores.
Each level runs peer and ours back to back, `--repeats` times in alternating order; medians.
Floor: ours ≥ 1.0× at every level; aim: 2× at 8.
"""

from __future__ import annotations

import argparse
import asyncio

from common import (add_load_args, chat_level, converted_smollm2, LocalServe, median, report, smollm2_role)
from processes import PeerServer


async def run(args, ours: str, peer: str, peer_model: str) -> list[dict]:
    """Each level measured `--repeats` times, peer and ours back to back in alternating order
    (so that drift in the machine's load falls on both sides alike); the figures are medians,
    and `ours_x` is the median of the per-repeat ratios."""
    rows = []
    for c in args.levels:
        n = max(args.min_requests, args.rounds * c)
        p, o = [], []
        for rep in range(args.repeats):
            sides = [(p, peer + "/v1/chat/completions", peer_model),
                     (o, ours + "/v1/chat/completions", "instruct")]
            for into, url, model in sides if rep % 2 == 0 else reversed(sides):
                into.append(await chat_level(url, model, c, n, args.max_new_tokens))
        ratios = [a["tok_s"] / b["tok_s"] for a, b in zip(o, p)]
        rows.append({"concurrency": c,
                     "peer_tok_s": round(median([r["tok_s"] for r in p]), 1),
                     "ours_tok_s": round(median([r["tok_s"] for r in o]), 1),
                     "ours_x": round(median(ratios), 2),
                     "ours_x_min_max": [round(min(ratios), 2), round(max(ratios), 2)],
                     "peer_ttft_p50_s": round(median([r["ttft_p50_s"] for r in p]), 3),
                     "ours_ttft_p50_s": round(median([r["ttft_p50_s"] for r in o]), 3),
                     "tokens_per_req": f"{p[0]['tokens_per_request']:g}/{o[0]['tokens_per_request']:g}"})
        print(rows[-1], flush=True)
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_load_args(ap, levels="1,4,8")
    ap.add_argument("--peer-args", default="", help="extra flags for transformers serve")
    ap.add_argument("--repeats", type=int, default=3, help="measurements of each side per level")
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
