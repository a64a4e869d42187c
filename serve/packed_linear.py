"""bfloat16 linear layers with their weights packed once for oneDNN, for CPU decoding.

Why: on a CPU with AMX / AVX-512 BF16, `F.linear` on bfloat16 may re-lay the weight out for the
matrix unit on every call; a weight packed once (what torch.compile's CPU backend does when it
freezes a model) skips that. Measured on the demo model (benchmarks/RESULTS.md, engine alone): a
bfloat16 decode step is 1.3x float32's tokens/s at batch 8, 1.6x at batch 16 and 0.9x at batch 1,
and packed and plain bfloat16 measured within a few percent of each other there. The results are
the same numbers as unpacked bfloat16.

    pack_linears(model)   # in place; every nn.Linear becomes a PackedLinear
"""

from __future__ import annotations

import torch
from torch import nn


def can_pack(device: torch.device, dtype: torch.dtype) -> bool:
    """Only bfloat16 on a CPU whose oneDNN has bf16 kernels (float32 measured no faster)."""
    if device.type != "cpu" or dtype != torch.bfloat16 or not torch.backends.mkldnn.is_available():
        return False
    try:
        return bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())
    except (AttributeError, RuntimeError):
        return False


class PackedLinear(nn.Module):
    """`nn.Linear` with its weight in oneDNN's blocked layout (inference only)."""

    def __init__(self, linear: nn.Linear):
        super().__init__()
        self.in_features = linear.in_features
        self.out_features = linear.out_features
        self.register_buffer("packed", torch.ops.mkldnn._reorder_linear_weight(linear.weight.detach()))
        self.bias = None if linear.bias is None else nn.Parameter(linear.bias.detach(), requires_grad=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        flat = x.reshape(-1, self.in_features)
        out = torch.ops.mkldnn._linear_pointwise(flat, self.packed, self.bias, "none", [], "")
        return out.view(*x.shape[:-1], self.out_features)


def pack_linears(model: nn.Module) -> int:
    """Replaces every nn.Linear in `model` by a PackedLinear; returns how many. A tied output
    layer gets its own packed copy; the embedding keeps the original weight."""
    count = 0
    for module in list(model.modules()):
        for name, child in list(module.named_children()):
            if isinstance(child, nn.Linear):
                setattr(module, name, PackedLinear(child))
                count += 1
    return count
