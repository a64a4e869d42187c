"""The demo model's linear layers alone: one decode step's matrix products through `nn.Linear`
(MKL's sgemm on the weight as stored) and through oneDNN on weights packed once
(serve/engines/hf/packed.py), at the rows a decode step has.

    .venv/bin/python benchmarks/linear_products.py
    .venv/bin/python benchmarks/linear_products.py --threads 1 --rows 1,8,16,64

Every linear layer of SmolLM2-135M-Instruct (the converted demo model, float32), each given a
random input of `rows` rows, all of them once per "step"; milliseconds a step (median of
`--reps`, the two ways interleaved) and the weights' bytes read per second.
"""

from __future__ import annotations

import argparse
import time

from common import converted_smollm2, median, report


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--rows", default="1,8,16")
    ap.add_argument("--reps", type=int, default=15)
    args = ap.parse_args()

    import torch
    from torch import nn
    from transformers import AutoModelForCausalLM

    from serve.engines.hf.packed import PackedLinear

    torch.set_num_threads(args.threads)
    model = AutoModelForCausalLM.from_pretrained(converted_smollm2(), dtype=torch.float32)
    layers = [m for m in model.modules() if isinstance(m, nn.Linear)]
    packed = [PackedLinear(m) for m in layers]
    weight_bytes = sum(m.weight.numel() * 4 for m in layers)
    rows = []
    with torch.inference_mode():
        for n in (int(r) for r in args.rows.split(",")):
            xs = {m.in_features: torch.randn(n, m.in_features) for m in layers}
            ways = {"nn.Linear": layers, "oneDNN packed": packed}
            times: dict[str, list[float]] = {w: [] for w in ways}
            for rep in range(args.reps + 2):
                for way, mods in ways.items():
                    t = time.perf_counter()
                    for m in mods:
                        m(xs[m.in_features])
                    if rep >= 2:  # two warm-up steps
                        times[way].append(time.perf_counter() - t)
            base = median(times["nn.Linear"])
            for way in ways:
                ms = median(times[way])
                rows.append({"rows": n, "way": way, "ms_per_step": round(1000 * ms, 1),
                             "weights_gb_s": round(weight_bytes / ms / 1e9, 1),
                             "speedup": round(base / ms, 2)})
    report("linear products: nn.Linear vs oneDNN packed", rows,
           {"setting": vars(args), "layers": len(layers), "weight_gb": round(weight_bytes / 1e9, 3)})


if __name__ == "__main__":
    main()
