"""Linear layers whose weights are laid out once for oneDNN: our loop's matrix products on a CPU.

torch's `nn.Linear` on a CPU multiplies by the weight as stored, through MKL's sgemm, at every
decode step; for the few rows a decode step has (one per request) that reaches about half the
memory bandwidth. oneDNN can reorder a weight once into the blocked layout its kernels read
(`torch.ops.mkldnn._reorder_linear_weight`) and multiply by it after
(`torch.ops.mkldnn._linear_pointwise`): the two operators torch.compile's freezing pass emits for
a CPU linear layer, and the same idea as vLLM's CPU backend, which packs its linear layers'
weights for oneDNN when it loads a model. On the demo model's 211 linear layers in float32 this
took a decode step's matrix products from 48–72 ms to 32–39 ms at 1 to 16 rows on 2 threads
(benchmarks/linear_products.py; benchmarks/RESULTS.md, "Our loop against `transformers serve`").

Packing applies to float32 weights only (bfloat16's `nn.Linear` already goes through oneDNN) and
is checked on the first layer against `nn.Linear` before any layer is replaced. Numbers differ
from `nn.Linear`'s in the last bits (another summation order), as they already differ between
batch sizes.
"""

from __future__ import annotations

import logging

import torch
from torch import nn

logger = logging.getLogger("triserve.engine")

# |packed - nn.Linear| allowed on the check's random input, relative to the output's scale.
_CHECK_RTOL = 1e-4


class PackedLinear(nn.Module):
    """`linear` with its weight reordered for oneDNN. Input [..., in_features] float32 on the
    CPU; output [..., out_features]. The original weight is not kept (a weight tied to another
    module, such as the input embedding, stays there)."""

    def __init__(self, linear: nn.Linear):
        super().__init__()
        self.in_features, self.out_features = linear.in_features, linear.out_features
        # Plain attributes, not parameters: `Module.to` cannot move an opaque oneDNN tensor.
        self.packed = torch.ops.mkldnn._reorder_linear_weight(linear.weight.detach())
        self.bias = None if linear.bias is None else linear.bias.detach().clone()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        flat = x.reshape(-1, self.in_features).contiguous()
        out = torch.ops.mkldnn._linear_pointwise(flat, self.packed, self.bias, "none", [], "")
        return out.reshape(*x.shape[:-1], self.out_features)

    def extra_repr(self) -> str:
        return f"in_features={self.in_features}, out_features={self.out_features}, oneDNN"


def packable(model: nn.Module) -> bool:
    """Whether `model`'s linear layers can be packed: on the CPU, float32, with torch's oneDNN
    operators present."""
    weight = next((m.weight for m in model.modules() if isinstance(m, nn.Linear)), None)
    return (weight is not None and weight.device.type == "cpu" and weight.dtype == torch.float32
            and torch.backends.mkldnn.is_available()
            and hasattr(torch.ops.mkldnn, "_reorder_linear_weight")
            and hasattr(torch.ops.mkldnn, "_linear_pointwise"))


def _agrees(linear: nn.Linear, packed: PackedLinear) -> bool:
    x = torch.randn(3, linear.in_features, generator=torch.Generator().manual_seed(0))
    with torch.inference_mode():
        want, got = linear(x), packed(x)
    scale = want.abs().max().clamp(min=1.0)
    return bool(((want - got).abs().max() / scale) <= _CHECK_RTOL)


def pack_linears(model: nn.Module) -> int:
    """Replaces every `nn.Linear` of `model` with a `PackedLinear`, in place; returns how many.
    Returns 0 and changes nothing when the model is not `packable` or the check on its first
    linear layer disagrees with `nn.Linear` (logged as a warning)."""
    if not packable(model):
        return 0
    targets = [(name, m) for name, m in model.named_modules() if isinstance(m, nn.Linear)]
    try:
        first = PackedLinear(targets[0][1])
        ok = _agrees(targets[0][1], first)
    except RuntimeError as exc:  # an operator this torch build lacks for this CPU
        logger.warning("linear layers left unpacked: %s", exc)
        return 0
    if not ok:
        logger.warning("linear layers left unpacked: oneDNN's product disagrees with nn.Linear")
        return 0
    for name, linear in targets:
        parent_name, _, attr = name.rpartition(".")
        parent = model.get_submodule(parent_name) if parent_name else model
        setattr(parent, attr, first if linear is targets[0][1] else PackedLinear(linear))
    return len(targets)
