"""Each engine alone on the reference architectures, with random weights: tokens/s by batch size,
time to first token and peak GPU memory, for Qwen2.5-3B (base and instruct share it) and
Qwen3-4B in bf16, on our loop (`hf`) and on vLLM (`vllm`, its `load_format: dummy`).

No download and no Ray: the configs are written here, the weights are random (speed does not
depend on their values), and the tokenizer is a word-level one built on the spot over the full
vocabulary, so a GPU machine that reaches no package index can run it as is.

    python benchmarks/gpu_engine.py                  # on a GPU machine: both models, both
                                                     # engines, batch 1/16/64
    python benchmarks/gpu_engine.py --tiny           # the same code on CPU, tiny models
    python benchmarks/gpu_engine.py --engines vllm --models qwen3-4b --batches 1,16 --new-tokens 64

Prints a table and one `JSON {...}` line.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

# The reference models' config.json, architecture fields only (Qwen/Qwen2.5-3B, Qwen/Qwen3-4B).
CONFIGS = {
    "qwen2.5-3b": {
        "model_type": "qwen2", "hidden_size": 2048, "intermediate_size": 11008,
        "num_hidden_layers": 36, "num_attention_heads": 16, "num_key_value_heads": 2,
        "max_position_embeddings": 32768, "rms_norm_eps": 1e-6, "rope_theta": 1000000.0,
        "tie_word_embeddings": True, "use_sliding_window": False, "vocab_size": 151936,
        "hidden_act": "silu", "bos_token_id": 151643, "eos_token_id": 151643,
    },
    "qwen3-4b": {
        "model_type": "qwen3", "hidden_size": 2560, "intermediate_size": 9728,
        "num_hidden_layers": 36, "num_attention_heads": 32, "num_key_value_heads": 8,
        "head_dim": 128, "max_position_embeddings": 40960, "rms_norm_eps": 1e-6,
        "rope_theta": 1000000.0, "tie_word_embeddings": True, "use_sliding_window": False,
        "vocab_size": 151936, "hidden_act": "silu", "attention_bias": False,
        "bos_token_id": 151643, "eos_token_id": 151645,
    },
}

# --tiny: the same architectures, shrunk so that CPU runs them in seconds.
# head_dim 32 (128 / 4 heads): the least vLLM's CPU attention takes.
TINY = {"hidden_size": 128, "intermediate_size": 256, "num_hidden_layers": 2,
        "num_attention_heads": 4, "num_key_value_heads": 2, "vocab_size": 512}


def build_config(name: str, tiny: bool):
    from transformers import AutoConfig

    fields = dict(CONFIGS[name])
    if tiny:
        fields.update(TINY, head_dim=32 if "head_dim" in fields else None)
        fields = {k: v for k, v in fields.items() if v is not None}
    # No EOS: random weights would stop at it by chance, and every row must decode its tokens.
    fields["eos_token_id"] = None
    model_type = fields.pop("model_type")
    return AutoConfig.for_model(model_type, **fields)


def word_tokenizer(vocab_size: int):
    """A tokenizer over the whole vocabulary (`t0 t1 …`): the engine detokenizes every id."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    vocab = {f"t{i}": i for i in range(vocab_size)}
    tok = Tokenizer(models.WordLevel(vocab, unk_token="t0"))
    tok.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    tok.decoder = decoders.WordPiece(prefix="##")  # joins words with spaces
    return PreTrainedTokenizerFast(tokenizer_object=tok, pad_token="t0")


def build_vllm_engine(name: str, args):
    """A vLLM engine over a directory holding only the config and the tokenizer: vLLM's
    `load_format: dummy` makes random weights of the right shapes on the device."""
    import asyncio
    import tempfile

    from serve.config import RoleConfig
    from serve.engines.vllm.engine import VLLMEngine

    config = build_config(name, args.tiny)
    # vLLM picks its model class by `architectures`, which a config built from fields lacks.
    config.architectures = [{"qwen2": "Qwen2ForCausalLM", "qwen3": "Qwen3ForCausalLM"}[config.model_type]]
    path = Path(tempfile.mkdtemp(prefix=f"gpu-engine-{name}-"))
    config.save_pretrained(path)
    word_tokenizer(config.vocab_size).save_pretrained(path)
    kwargs = {"load_format": "dummy", "dtype": args.dtype,
              "max_model_len": args.prompt_tokens + args.new_tokens + 16,
              "max_num_seqs": max(int(b) for b in args.batches.split(","))}
    env = {"VLLM_CPU_KVCACHE_SPACE": "1"}
    if args.tiny:  # on CPU, as the tests run vLLM: the model in the engine core's process
        kwargs.update(dtype="float32", enforce_eager=True)
        env["VLLM_ENABLE_V1_MULTIPROCESSING"] = "0"
    else:
        kwargs["gpu_memory_utilization"] = args.gpu_memory_utilization
    role = RoleConfig.model_validate({
        "model": {"source": "local", "path": str(path)}, "served_model_name": name,
        "engine": "vllm", "vllm": {"engine_kwargs": kwargs, "env": env},
        "max_new_tokens_cap": 100_000, "max_input_tokens": 100_000,
    })
    engine = VLLMEngine(role)
    # The engine's own event loop on a daemon thread, as in a replica (a loop left behind on the
    # main thread kept the process from exiting).
    loop = asyncio.new_event_loop()
    threading.Thread(target=loop.run_forever, daemon=True).start()
    engine.run = lambda coro: asyncio.run_coroutine_threadsafe(coro, loop).result()
    engine.run(engine.start())
    return engine, config


def measure_vllm(engine, vocab: int, n: int, args) -> dict:
    """n requests handed to vLLM at once: median time to the first token of the batch, decode
    tokens/s after it, over `reps` runs."""
    runs = []

    async def one(req, t0, firsts):
        tokens = 0
        async for chunk in engine.stream(req):
            if not firsts:
                firsts.append(time.perf_counter() - t0)
            tokens = chunk.completion_tokens or tokens
        return tokens

    async def batch():
        import asyncio

        reqs = requests(engine, n, args.prompt_tokens, args.new_tokens, vocab)
        firsts: list[float] = []
        start = time.perf_counter()
        tokens = sum(await asyncio.gather(*(one(r, start, firsts) for r in reqs)))
        return firsts[0], tokens, time.perf_counter() - start

    for _ in range(args.reps):
        runs.append(engine.run(batch()))
    return summarise(runs, n)


def build_engine(name: str, args):
    import torch
    from transformers import AutoModelForCausalLM

    from serve.config import RoleConfig
    from serve.engines.hf.engine import HFEngine

    config = build_config(name, args.tiny)
    role = RoleConfig.model_validate({
        "model": {"source": "local", "path": "(random weights)"}, "served_model_name": name,
        "device": args.device, "dtype": args.dtype, "max_new_tokens_cap": 100_000,
        "max_input_tokens": 100_000, **({"torch_threads": args.threads} if args.threads else {}),
    })
    engine = HFEngine(role)
    device = engine._device()
    torch.manual_seed(0)
    with torch.device(device):  # random init straight on the device: no host copy of 8 GB
        model = AutoModelForCausalLM.from_config(config, dtype=engine._dtype(device))
    engine.adopt(model, word_tokenizer(config.vocab_size))
    return engine, config


def requests(engine, n: int, prompt_len: int, new_tokens: int, vocab: int):
    import random

    from serve.generation import PreparedRequest, SamplingParams

    rng = random.Random(n)
    return [PreparedRequest(request_id=str(i),
                            prompt_ids=[rng.randrange(1, vocab) for _ in range(prompt_len)],
                            sampling=SamplingParams(max_new_tokens=new_tokens, temperature=0.0))
            for i in range(n)]


def sync(engine) -> None:
    import torch

    if engine.device.type == "cuda":
        torch.cuda.synchronize(engine.device)


def measure(engine, vocab: int, n: int, args) -> dict:
    """One batch of n: time to the first step (prefill + first token) and decode tokens/s."""
    runs = []
    for _ in range(args.reps):
        batch = requests(engine, n, args.prompt_tokens, args.new_tokens, vocab)
        sync(engine)
        start = time.perf_counter()
        first, tokens = None, 0
        for step in engine.steps(batch):
            if first is None:
                sync(engine)
                first = time.perf_counter() - start
            tokens += sum(c.completion_tokens for c in step if c is not None and c.finish_reason)
        sync(engine)
        total = time.perf_counter() - start
        runs.append((first, tokens, total))
    return summarise(runs, n)


def summarise(runs: list[tuple[float, int, float]], n: int) -> dict:
    """(time to the first step, tokens, total seconds) per run → the row's medians."""
    first = statistics.median(r[0] for r in runs)
    total = statistics.median(r[2] for r in runs)
    tokens = runs[0][1]
    decode = statistics.median((r[1] - n) / (r[2] - r[0]) for r in runs)  # after the first step
    return {"batch": n, "ttft_s": round(first, 4), "decode_tok_s": round(decode, 1),
            "overall_tok_s": round(tokens / total, 1), "tokens": tokens}


def peak_memory_gib() -> float | None:
    """Peak GPU memory in use on device 0 (every process's, from the driver), GiB; None on CPU."""
    import torch

    if not torch.cuda.is_available():
        return None
    free, total = torch.cuda.mem_get_info(0)
    return round((total - free) / 2**30, 2)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--models", default="qwen2.5-3b,qwen3-4b")
    ap.add_argument("--engines", default="hf,vllm")
    ap.add_argument("--batches", default="1,16,64")
    ap.add_argument("--gpu-memory-utilization", type=float, default=0.85,
                    help="vLLM's share of the GPU (weights and KV cache)")
    ap.add_argument("--prompt-tokens", type=int, default=128)
    ap.add_argument("--new-tokens", type=int, default=128)
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"])
    ap.add_argument("--dtype", default="bfloat16")
    ap.add_argument("--threads", type=int, default=None)
    ap.add_argument("--tiny", action="store_true", help="tiny models on CPU: proves the script runs")
    args = ap.parse_args()
    if args.tiny:
        args.device = "cpu" if args.device == "auto" else args.device
        args.new_tokens = min(args.new_tokens, 16)
        args.prompt_tokens = min(args.prompt_tokens, 32)
        args.reps = min(args.reps, 2)

    import torch

    rows = []
    for kind in args.engines.split(","):
        for name in args.models.split(","):
            if kind == "vllm":
                engine, config = build_vllm_engine(name, args)
                run = measure_vllm
                # Warm with the benchmark's own kind of request (the word tokenizer knows no
                # English, so the engine's own warm-up prompt would be empty).
                measure_vllm(engine, config.vocab_size, 2, argparse.Namespace(**{**vars(args), "reps": 1}))
            else:
                engine, config = build_engine(name, args)
                run = measure
                warm = requests(engine, 2, 8, 4, config.vocab_size)
                for _ in engine.steps(warm):  # first-call allocations, kernel selection
                    pass
                if torch.cuda.is_available():
                    torch.cuda.reset_peak_memory_stats()
            for n in (int(b) for b in args.batches.split(",")):
                row = {"engine": kind, "model": name, **run(engine, config.vocab_size, n, args)}
                # hf: torch's own peak; vllm: the GPU in use, its preallocated KV cache included.
                row["peak_gib"] = (round(torch.cuda.max_memory_allocated() / 2**30, 2)
                                   if kind == "hf" and torch.cuda.is_available() else peak_memory_gib())
                rows.append(row)
                print(rows[-1], flush=True)
            engine.shutdown()
            del engine
    device = torch.cuda.get_device_name(0) if torch.cuda.is_available() and args.device != "cpu" else "cpu"
    out = {"benchmark": "gpu_engine", "device": device, "torch": torch.__version__,
           "setting": vars(args), "rows": rows}
    keys = list(rows[0])
    print("  ".join(f"{k:>14}" for k in keys))
    for r in rows:
        print("  ".join(f"{r[k]!s:>14}" for k in keys))
    print("JSON " + json.dumps(out))


if __name__ == "__main__":
    main()
