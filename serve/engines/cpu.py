"""What the CPU can do fast, for `dtype: auto` (serve/config/role.py `RoleConfig.dtype`).

bfloat16 matrix work is fast on a CPU only with native bfloat16 instructions: AVX-512 BF16
(`avx512_bf16`, Zen 4 and Cooper Lake on) or AMX (`amx_bf16`, Sapphire Rapids on). Without them
(AVX2 or plain AVX-512), torch and vLLM emulate it and a vLLM role in bfloat16 decodes about 3x
slower than in float32 (benchmarks/RESULTS.md). Read from /proc/cpuinfo's `flags` (Linux); where
that file is absent nothing is assumed fast.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

# Either is enough: both compute bfloat16 dot products natively.
BF16_FLAGS = frozenset({"avx512_bf16", "amx_bf16"})


def cpu_flags(cpuinfo: str | None = None) -> frozenset[str]:
    """The flags of the first processor in `cpuinfo` (the text of /proc/cpuinfo; read from the
    file when None); empty when there is none."""
    if cpuinfo is None:
        path = Path("/proc/cpuinfo")
        cpuinfo = path.read_text() if path.is_file() else ""
    for line in cpuinfo.splitlines():
        key, _, value = line.partition(":")
        if key.strip() == "flags":
            return frozenset(value.split())
    return frozenset()


@lru_cache(maxsize=1)
def fast_bfloat16() -> bool:
    """True when this CPU computes bfloat16 natively (AVX-512 BF16 or AMX)."""
    return bool(cpu_flags() & BF16_FLAGS)


def auto_cpu_dtype() -> str:
    """What `dtype: auto` means for a vLLM role on this CPU: "bfloat16" with native bfloat16,
    else "float32"."""
    return "bfloat16" if fast_bfloat16() else "float32"
