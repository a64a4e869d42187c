"""The engine alone on the demo model, in float32 and bfloat16: our decode loop against
transformers' own `generate` (padded) and its continuous batching (`generate_batch`), where a
decode step's time goes, and how close batch-1 decoding comes to the memory-bandwidth limit.

"ours" is the loop as a role runs it (float32 linear layers packed for oneDNN,
serve/engines/hf/packed.py); "ours, nn.Linear" the same loop with `packed_weights: false`;
transformers' generates run the model as transformers loads it (nn.Linear).

    .venv/bin/python benchmarks/engine_decode.py                 # everything, 2 threads
    .venv/bin/python benchmarks/engine_decode.py --only limit --threads 1 --dtypes float32

Each figure is a ratio of runs made in this one process, interleaved, so that a shared machine's
load falls on both sides alike.
"""

from __future__ import annotations

import argparse
import time

from common import PROMPTS, SMOLLM2, median, report


def load_engine(threads: int, dtype: str, max_new_tokens: int, max_rows: int = 16,
                packed_weights: bool = True):
    from serve.config import RoleConfig
    from serve.engines.hf.engine import HFEngine

    cfg = RoleConfig.model_validate({
        "model": SMOLLM2, "torch_threads": threads, "dtype": dtype,
        "defaults": {"max_new_tokens": max_new_tokens, "temperature": 0.0},
        "batching": {"max_batch_size": max_rows}, "packed_weights": packed_weights,
    })
    engine = HFEngine(cfg)
    engine.load()
    return engine


def prepared(engine, n: int, max_new_tokens: int):
    from serve.generation import GenerationRequest
    from serve.api.protocol import GenerationParams

    params = GenerationParams(max_new_tokens=max_new_tokens, temperature=0.0)
    return [engine.prepare(GenerationRequest(request_id=str(i), prompt=PROMPTS[i % len(PROMPTS)],
                                             params=params)) for i in range(n)]


def run_engine(engine, n: int, max_new_tokens: int) -> tuple[float, int, float]:
    """(seconds, tokens generated, time to the first step) for one batch of n."""
    batch = prepared(engine, n, max_new_tokens)
    start = time.perf_counter()
    first = None
    tokens = 0
    for step in engine.steps(batch):
        first = first if first is not None else time.perf_counter() - start
        tokens += sum(c.completion_tokens for c in step if c is not None and c.finish_reason)
    return time.perf_counter() - start, tokens, first


def run_hf_generate(engine, n: int, max_new_tokens: int) -> tuple[float, int]:
    import torch

    tok = engine.tokenizer
    batch = prepared(engine, n, max_new_tokens)
    width = max(len(r.prompt_ids) for r in batch)
    ids = torch.full((n, width), engine.pad_id)
    mask = torch.zeros((n, width), dtype=torch.long)
    for i, r in enumerate(batch):
        ids[i, width - len(r.prompt_ids):] = torch.tensor(r.prompt_ids)
        mask[i, width - len(r.prompt_ids):] = 1
    start = time.perf_counter()
    with torch.inference_mode():
        out = engine.model.generate(input_ids=ids, attention_mask=mask, max_new_tokens=max_new_tokens,
                                    do_sample=False, pad_token_id=tok.pad_token_id)
    seconds = time.perf_counter() - start
    new = out[:, width:]
    eos = torch.tensor(sorted(engine.eos_ids))
    # Tokens up to and including the first EOS of each row (what a server would return).
    tokens = 0
    for row in new.tolist():
        hits = [j for j, t in enumerate(row) if t in set(eos.tolist())]
        tokens += hits[0] + 1 if hits else len(row)
    return seconds, tokens


def run_continuous(engine, n: int, max_new_tokens: int) -> tuple[float, int]:
    from transformers import GenerationConfig

    batch = prepared(engine, n, max_new_tokens)
    gen = GenerationConfig(max_new_tokens=max_new_tokens, do_sample=False,
                           eos_token_id=sorted(engine.eos_ids), pad_token_id=engine.pad_id)
    start = time.perf_counter()
    out = engine.model.generate_batch([r.prompt_ids for r in batch], generation_config=gen,
                                     progress_bar=False)
    seconds = time.perf_counter() - start
    return seconds, sum(len(o.generated_tokens) for o in out.values())


def compare_batching(engines: dict, plain: dict, sizes, max_new_tokens: int,
                     reps: int) -> list[dict]:
    """tokens/s of ours (`engines`: packed weights; `plain`: nn.Linear), plain generate and
    continuous batching (on `plain`) for each dtype, interleaved rep by rep; `vs_fp32_generate`
    divides by transformers' generate in float32 (its default here)."""
    runs = {}
    for dtype, packed in engines.items():
        engine = plain[dtype]
        runs[("ours", dtype)] = lambda n, e=packed: run_engine(e, n, max_new_tokens)[:2]
        runs[("ours, nn.Linear", dtype)] = lambda n, e=engine: run_engine(e, n, max_new_tokens)[:2]
        runs[("transformers generate", dtype)] = lambda n, e=engine: run_hf_generate(e, n, max_new_tokens)
        runs[("transformers generate_batch", dtype)] = lambda n, e=engine: run_continuous(e, n, max_new_tokens)
    for fn in runs.values():
        fn(2)  # warm up every path once (allocations, continuous batching's cache set-up)
    rates: dict[tuple, list[float]] = {}
    for _ in range(reps):
        for n in sizes:
            for key, fn in runs.items():
                seconds, tokens = fn(n)
                rates.setdefault((*key, n), []).append(tokens / seconds)
    rows = []
    for n in sizes:
        base = median(rates.get(("transformers generate", "float32", n), [float("nan")]))
        for (name, dtype) in runs:
            r = median(rates[(name, dtype, n)])
            rows.append({"batch": n, "engine": name, "dtype": dtype, "tok_s": round(r, 1),
                         "vs_fp32_generate": round(r / base, 2)})
    return rows


def step_profile(engine, n: int, max_new_tokens: int) -> list[dict]:
    """Where a decode step's time goes in our loop: the model's forward, sampling, the per-request
    text work (detokenization, stop strings), and everything else (cache and mask handling, the
    hand-off between threads, Python)."""
    import serve.engines.hf.batcher as cont

    spent = {"forward": 0.0, "sampling": 0.0, "text (detokenize, stops)": 0.0}

    def timed(name, fn):
        def wrapper(*a, **k):
            t = time.perf_counter()
            try:
                return fn(*a, **k)
            finally:
                spent[name] += time.perf_counter() - t
        return wrapper

    saved = (cont.sample_next, cont.SequenceState.add)
    loaded = engine.loaded
    loaded.forward = timed("forward", loaded.forward)
    cont.sample_next = timed("sampling", cont.sample_next)
    cont.SequenceState.add = timed("text (detokenize, stops)", cont.SequenceState.add)
    try:
        batch = prepared(engine, n, max_new_tokens)
        start = time.perf_counter()
        steps = sum(1 for _ in engine.steps(batch))
        total = time.perf_counter() - start
    finally:
        del loaded.forward
        cont.sample_next, cont.SequenceState.add = saved
    spent["other (cache, masks, threads, loop)"] = total - sum(spent.values())
    return [{"batch": n, "dtype": str(engine.dtype).split(".")[1], "part": k,
             "ms_per_step": round(1000 * v / steps, 2), "share": round(v / total, 3)}
            for k, v in spent.items()]


def bandwidth_gb_s(threads: int, size_mb: int = 1024, reps: int = 7) -> float:
    """Read bandwidth: the median of summing a large float32 tensor (much larger than caches)."""
    import torch

    torch.set_num_threads(threads)
    x = torch.ones(size_mb * 2**20 // 4)
    x.sum()
    times = []
    for _ in range(reps):
        t = time.perf_counter()
        x.sum()
        times.append(time.perf_counter() - t)
    return x.numel() * 4 / median(times) / 1e9


def weight_bytes(model) -> int:
    """Bytes one decode step must read: every linear layer's weight, the output layer included
    (norms are negligible; the embedding reads one row per token)."""
    from torch import nn

    from serve.engines.hf.packed import PackedLinear

    seen = {}
    for m in model.modules():
        if isinstance(m, nn.Linear):  # a tied output layer counts once
            seen[m.weight.data_ptr()] = m.weight.numel() * m.weight.element_size()
        elif isinstance(m, PackedLinear):  # packed only in float32: 4 bytes a weight
            seen[id(m)] = m.in_features * m.out_features * 4
    return sum(seen.values())


def limit(engine, threads: int, max_new_tokens: int, reps: int) -> dict:
    rates, bws = [], []
    for _ in range(reps):  # interleaved, so that load changes hit both alike
        seconds, tokens, first = run_engine(engine, 1, max_new_tokens)
        rates.append((tokens - 1) / (seconds - first))  # decode steps only, prefill excluded
        bws.append(bandwidth_gb_s(threads))
    wb = weight_bytes(engine.model)
    bound = median(bws) * 1e9 / wb
    return {"dtype": str(engine.dtype).split(".")[1], "decode_tok_s_batch1": round(median(rates), 1),
            "bandwidth_gb_s": round(median(bws), 1), "weight_gb": round(wb / 1e9, 3),
            "bound_tok_s": round(bound, 1), "ratio": round(median(rates) / bound, 3)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--dtypes", default="float32,bfloat16")
    ap.add_argument("--max-new-tokens", type=int, default=64)
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--sizes", default="1,8,16")
    ap.add_argument("--only", choices=["batching", "profile", "limit"], default=None)
    args = ap.parse_args()
    engines = {d: load_engine(args.threads, d, args.max_new_tokens) for d in args.dtypes.split(",")}
    plain = {d: load_engine(args.threads, d, args.max_new_tokens, packed_weights=False)
             for d in engines} if args.only in (None, "batching") else {}
    sizes = [int(s) for s in args.sizes.split(",")]
    setting = vars(args)
    if args.only in (None, "batching"):
        report("engine batching: ours vs transformers", compare_batching(
            engines, plain, sizes, args.max_new_tokens, args.reps), {"setting": setting})
    if args.only in (None, "profile"):
        rows = [r for e in engines.values() for n in sizes for r in step_profile(e, n, args.max_new_tokens)]
        report("decode step profile", rows, {"setting": setting})
    if args.only in (None, "limit"):
        report("memory-bandwidth limit",
               [limit(e, args.threads, args.max_new_tokens, args.reps) for e in engines.values()],
               {"setting": setting})


if __name__ == "__main__":
    main()
