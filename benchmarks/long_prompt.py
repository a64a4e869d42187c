"""A long prompt joining running streams: how long do the streams already decoding stall while
it is prefilled? Chunked prefill (vLLM's `max_num_batched_tokens`) bounds the stall; our loop
prefills a joining prompt whole, between two decode steps.

    .venv/bin/python benchmarks/long_prompt.py                   # the three servers, bfloat16
    .venv/bin/python benchmarks/long_prompt.py --servers triserve-vllm-chunked --repeats 1 \\
        --stream-tokens 32 --prompt-tokens 600 --join-after-s 1  # a smoke run

On one server at a time (started, measured, stopped as in benchmarks/servers.py): `--streams` 4
streaming chat requests, greedy, `--stream-tokens` 256 new tokens each; `--join-after-s` 2 s
later one request with a ~`--prompt-tokens` 1,800-token prompt (and `--long-max-tokens` 16 new
tokens) joins. Every gap between successive text frames of the 4 streams is recorded; reported:
the median gap, the worst gap, worst ÷ median, the worst gap that overlapped the long prompt's
prefill (its arrival → its first token), and the long request's TTFT. `--repeats` trials per
server (each long prompt different, so that no prefix cache serves it), gaps pooled; before
them one unmeasured short request and one unmeasured long prompt.

The servers (triserve roles by `serve run`, replica num_cpus 1, max_ongoing_requests 64):
- triserve-vllm-chunked: engine vllm (torch_threads 2), engine_kwargs {dtype, max_model_len 2048,
  max_num_batched_tokens 256}: prefill in chunks of 256 tokens, decode steps between them;
- triserve-vllm-default: the same with vLLM's default max_num_batched_tokens (2048 on CPU: the
  whole prompt in one step);
- triserve-hf: our loop (max_batch_size 16, torch_threads 2), no chunking.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from pathlib import Path

from common import (converted_smollm2, http_client, median, PROMPTS, report, smollm2_role, stream_chat, vllm_role)
from processes import reaped, servers_and_workdir, triserve

from clients.bench.stats import percentile  # noqa: E402  (common puts the project on the path)

SERVERS = ("triserve-vllm-chunked", "triserve-vllm-default", "triserve-hf")
MAX_INPUT_TOKENS = 2000  # the long prompt and its chat template, within max_model_len 2048


def role(server: str, args) -> dict:
    if server == "triserve-vllm-chunked":
        return vllm_role(args.dtype, args.stream_tokens, args.kv_cache_gib, env=args.vllm_env,
                         threads=2, max_input_tokens=MAX_INPUT_TOKENS,
                         max_num_batched_tokens=args.chunk)
    if server == "triserve-vllm-default":
        return vllm_role(args.dtype, args.stream_tokens, args.kv_cache_gib, env=args.vllm_env,
                         threads=2, max_input_tokens=MAX_INPUT_TOKENS)
    if server == "triserve-hf":
        return smollm2_role(args.stream_tokens, threads=2, max_batch_size=16, dtype=args.dtype,
                            max_input_tokens=MAX_INPUT_TOKENS)
    raise ValueError(f"unknown server {server!r}; known: {', '.join(SERVERS)}")


def long_prompt(tokenizer, n_tokens: int, salt: str) -> str:
    """A user message of about `n_tokens` tokens (numbered notes made of the benchmark prompts),
    its first line different for each `salt`."""
    head = f"Here are my notes, set {salt}. Summarise them in one sentence.\n\n"
    notes, i = [], 0
    while len(tokenizer(head + " ".join(notes))["input_ids"]) < n_tokens + 64:
        notes.append(f"Note {i + 1}: {PROMPTS[(i * 7) % len(PROMPTS)]}")
        i += 1
    ids = tokenizer(" ".join(notes))["input_ids"]
    budget = n_tokens - len(tokenizer(head)["input_ids"])
    return head + tokenizer.decode(ids[:budget])


def chat(prompt: str, max_tokens: int) -> dict:
    return {"model": "instruct", "max_tokens": max_tokens, "temperature": 0,
            "messages": [{"role": "user", "content": prompt}]}


def _check(timed, what: str):
    if timed.status != 200:
        raise RuntimeError(f"{what} failed: {timed.status} {timed.text[:300]}")
    return timed


async def trial(url: str, args, prompt: str) -> dict:
    """4 streams, then the long prompt after `join_after_s`: the streams' gaps and when the
    long prompt's prefill ran."""
    async with http_client() as client:
        streams = [asyncio.create_task(stream_chat(client, url, chat(PROMPTS[i % len(PROMPTS)],
                                                                     args.stream_tokens)))
                   for i in range(args.streams)]
        await asyncio.sleep(args.join_after_s)
        joined = time.perf_counter()
        long = _check(await stream_chat(client, url, chat(prompt, args.long_max_tokens)), "long prompt")
        done = [_check(t, "stream") for t in await asyncio.gather(*streams)]
    first = joined + long.ttft_s  # the long prompt's first token: its prefill is over
    overlapping = [b - a for t in done for a, b in zip(t.times, t.times[1:]) if b > joined and a < first]
    # Time per output token of each stream, first token to last: what a reader of the stream
    # sees on average. Frames can arrive in bursts (several in one read), so the median gap
    # between frames can be 0 and is no yardstick for a stall.
    tpot = [(t.times[-1] - t.times[0]) / (t.tokens - 1) for t in done if t.tokens > 1 and t.times]
    return {"gaps": [g for t in done for g in t.gaps], "prefill_gaps": overlapping, "tpot": tpot,
            "long_ttft_s": long.ttft_s,
            "long_prompt_tokens": (long.extra.get("usage") or {}).get("prompt_tokens"),
            "stream_tokens": [t.tokens for t in done],
            # whether every stream was still decoding from the long prompt's arrival until its
            # first token (else the stall was not fully seen)
            "streams_spanned_prefill": all(t.times and t.times[0] < joined and t.times[-1] > first
                                           for t in done)}


def measure(server: str, args, workdir: Path, tokenizer) -> dict:
    with reaped(server), triserve(f"long-{server}", {"instruct": role(server, args)},
                                 workdir / server) as base:
        url = base + "/v1/chat/completions"
        print(f"# {server} ready at {base}", flush=True)

        async def warm_up():
            async with http_client() as client:
                _check(await stream_chat(client, url, chat(PROMPTS[0], 16)), "warm-up")
                _check(await stream_chat(client, url, chat(long_prompt(tokenizer, args.prompt_tokens,
                                                                       "warm-up"), 4)), "warm-up")

        asyncio.run(warm_up())
        trials = [asyncio.run(trial(url, args, long_prompt(tokenizer, args.prompt_tokens, f"{server}-{k}")))
                  for k in range(args.repeats)]
    gaps = [g for t in trials for g in t["gaps"]]
    prefill = [g for t in trials for g in t["prefill_gaps"]]
    med, worst = median(gaps), max(gaps, default=float("nan"))
    tpot = median([x for t in trials for x in t["tpot"]])
    row = {"server": server, "gaps": len(gaps), "median_gap_s": round(med, 4),
           "tpot_median_s": round(tpot, 4), "worst_over_tpot": round(worst / tpot, 1),
           "worst_prefill_over_tpot": round(max(prefill, default=float("nan")) / tpot, 1),
           "p99_gap_s": round(percentile(gaps, 99), 4) if gaps else None,
           "worst_gap_s": round(worst, 4), "worst_over_median": round(worst / med, 1),
           "worst_prefill_gap_s": round(max(prefill, default=float("nan")), 4),
           "long_ttft_s": round(median([t["long_ttft_s"] for t in trials]), 3),
           "long_prompt_tokens": trials[0]["long_prompt_tokens"],
           "worst_gap_per_trial_s": [round(max(t["gaps"], default=float("nan")), 4) for t in trials],
           "stream_tokens": [t["stream_tokens"] for t in trials],
           "streams_spanned_prefill": all(t["streams_spanned_prefill"] for t in trials)}
    print(json.dumps(row), flush=True)
    return row


def markdown(rows: list[dict]) -> str:
    lines = ["| server | TPOT p50 (ms) | worst gap (ms) | worst ÷ TPOT | worst gap in the prefill (ms) "
             "| ÷ TPOT | long prompt TTFT (s) | prompt tokens |", "|---|---|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {r['server']} | {r['tpot_median_s'] * 1000:.0f} | {r['worst_gap_s'] * 1000:.0f} "
                     f"| {r['worst_over_tpot']:.1f} | {r['worst_prefill_gap_s'] * 1000:.0f} "
                     f"| {r['worst_prefill_over_tpot']:.1f} "
                     f"| {r['long_ttft_s']:.2f} | {r['long_prompt_tokens']} |")
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--servers", default=",".join(SERVERS), help=f"some of: {', '.join(SERVERS)}")
    ap.add_argument("--streams", type=int, default=4, help="streams decoding when the prompt joins")
    ap.add_argument("--stream-tokens", type=int, default=256, help="max_tokens of each stream")
    ap.add_argument("--prompt-tokens", type=int, default=1800, help="tokens of the long prompt")
    ap.add_argument("--long-max-tokens", type=int, default=16, help="max_tokens of the long request")
    ap.add_argument("--join-after-s", type=float, default=2.0)
    ap.add_argument("--chunk", type=int, default=256, help="max_num_batched_tokens of the chunked role")
    ap.add_argument("--repeats", type=int, default=2, help="trials per server, gaps pooled")
    ap.add_argument("--dtype", default="bfloat16", choices=["bfloat16", "float32"])
    ap.add_argument("--kv-cache-gib", type=int, default=2, help="VLLM_CPU_KVCACHE_SPACE")
    ap.add_argument("--vllm-env", action="append", metavar="KEY=VALUE",
                    help="more environment for the vLLM roles, e.g. VLLM_CPU_NUM_OF_RESERVED_CPU=0")
    ap.add_argument("--workdir", default=None, help="servers' logs and configs (default: a temp dir)")
    args = ap.parse_args()
    servers, workdir = servers_and_workdir(ap, args, SERVERS, "long-prompt-bench-")

    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(converted_smollm2())
    rows, failed = [], {}
    for server in servers:
        try:
            rows.append(measure(server, args, workdir, tokenizer))
        except Exception as exc:  # noqa: BLE001  (one server's failure must not lose the others)
            failed[server] = f"{type(exc).__name__}: {exc}"[-3000:]
            print(json.dumps({"server": server, "error": failed[server]}), flush=True)
    report("long prompt joining 4 streams: inter-token gaps", rows,
           {"setting": {**vars(args), "workdir": str(workdir)}, "failed": failed})
    print()
    print(markdown(rows))


if __name__ == "__main__":
    main()
