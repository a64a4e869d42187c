"""Streaming time to first token through HTTP ÷ the engine's own prefill time for the same
prompt (the floor: the model must read the prompt before it can say anything).

    .venv/bin/python benchmarks/ttft.py
    .venv/bin/python benchmarks/ttft.py --reps 20 --threads 1

The engine's time is measured in this process on an engine built from the same role config (the
same dtype and torch threads): the prompt's forward pass and the first token's argmax. One
request at a time, HTTP and in-process runs interleaved.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time

from common import PROMPTS, LocalServe, http_client, median, report, smollm2_role, stream_chat

from clients.sse import DONE, asse_data


def engine_prefill_s(engine, prompt: str) -> float:
    """The prompt's forward pass and the first token's argmax, in this thread, nothing else: the
    floor under any server's time to first token for this prompt."""
    import torch

    from serve.generation import GenerationRequest
    from serve.api.protocol import GenerationParams

    req = engine.prepare(GenerationRequest(request_id="p", prompt=prompt,
                                           params=GenerationParams(max_new_tokens=2)))
    ids = torch.tensor([req.prompt_ids], device=engine.device)
    with torch.inference_mode():
        start = time.perf_counter()
        out = engine.model(input_ids=ids, use_cache=True, logits_to_keep=1)
        out.logits[:, -1, :].argmax(-1).item()
        return time.perf_counter() - start


async def compare_ttft(client, url: str, prompt: str) -> float:
    """Time to the first delta event of a streaming /v1/compare (one role)."""
    start = time.perf_counter()
    body = {"prompt": prompt, "roles": ["instruct"], "stream": True}
    async with client.stream("POST", url, json=body) as resp:
        async for data in asse_data(resp.aiter_lines()):
            if data != DONE and json.loads(data).get("type") == "delta":
                return time.perf_counter() - start
    raise RuntimeError("the compare stream had no delta")


async def measure(url: str, engine, reps: int, max_new_tokens: int) -> dict:
    chat, compare, prefill = [], [], []
    async with http_client() as client:
        for i in range(reps + 1):
            prompt = PROMPTS[i % len(PROMPTS)]
            body = {"model": "instruct", "max_tokens": max_new_tokens, "temperature": 0,
                    "messages": [{"role": "user", "content": prompt}]}
            # OpenMP threads spin for a while after their work (the replica's after the last
            # request, this process's after the prefill): let them settle before each timing, or
            # they take the cores from the side being timed.
            await asyncio.sleep(1.0)
            p = engine_prefill_s(engine, prompt)
            await asyncio.sleep(1.0)
            c = (await stream_chat(client, url + "/v1/chat/completions", body)).ttft_s
            d = await compare_ttft(client, url + "/v1/compare", prompt)
            if i:  # the first round warms every path
                chat.append(c)
                compare.append(d)
                prefill.append(p)
    return {"engine_prefill_ms": round(1000 * median(prefill), 1),
            "chat_ttft_ms": round(1000 * median(chat), 1),
            "compare_ttft_ms": round(1000 * median(compare), 1),
            "chat_over_prefill": round(median([c / p for c, p in zip(chat, prefill)]), 2),
            "compare_over_prefill": round(median([c / p for c, p in zip(compare, prefill)]), 2)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--reps", type=int, default=16)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--max-new-tokens", type=int, default=8)
    ap.add_argument("--dtype", default="bfloat16")
    args = ap.parse_args()
    from serve.config import RoleConfig
    from serve.engines.hf.engine import HFEngine

    role = smollm2_role(args.max_new_tokens, args.threads, dtype=args.dtype)
    engine = HFEngine(RoleConfig.model_validate(role))
    engine.load()
    with LocalServe() as local:
        url = local.deploy("ttft", {"roles": {"instruct": role}})
        row = asyncio.run(measure(url, engine, args.reps, args.max_new_tokens))
    report("streaming TTFT over engine prefill", [row], {"setting": vars(args)})


if __name__ == "__main__":
    main()
