"""`dtype: auto` on a CPU (serve/engines/cpu.py): bfloat16 only where the CPU computes it natively."""

from __future__ import annotations

import pytest

from serve.engines.cpu import cpu_flags

AVX2_ONLY = "processor\t: 0\nflags\t\t: fpu sse2 avx avx2 fma\n\nprocessor\t: 1\nflags\t\t: fpu avx2\n"
ZEN4 = "processor\t: 0\nflags\t\t: avx2 avx512f avx512bw avx512_bf16 avx512_vnni\n"
SPR = "processor\t: 0\nflags\t\t: avx2 avx512f amx_tile amx_bf16 amx_int8\n"
PLAIN_AVX512 = "processor\t: 0\nflags\t\t: avx2 avx512f avx512bw avx512vl\n"


@pytest.mark.parametrize("cpuinfo, want", [(AVX2_ONLY, "float32"), (ZEN4, "bfloat16"),
                                           (SPR, "bfloat16"), (PLAIN_AVX512, "float32"),
                                           ("", "float32")])
def test_auto_is_bfloat16_only_with_native_bf16(monkeypatch, cpuinfo, want):
    from serve.engines import cpu

    monkeypatch.setattr(cpu, "cpu_flags", lambda: cpu_flags(cpuinfo))
    cpu.fast_bfloat16.cache_clear()
    try:
        assert cpu.auto_cpu_dtype() == want
    finally:
        cpu.fast_bfloat16.cache_clear()


def test_this_machines_flags_are_read():
    assert "fpu" in cpu_flags()  # every x86-64 Linux lists it


@pytest.mark.parametrize("fast, want", [(True, "bfloat16"), (False, "float32")])
def test_a_vllm_role_without_a_dtype_gets_autos_choice(monkeypatch, fast, want):
    from serve.config import RoleConfig
    from serve.engines import cpu
    from serve.engines.vllm.engine import VLLMEngine

    monkeypatch.setattr(cpu, "fast_bfloat16", lambda: fast)
    role = {"model": {"source": "local", "path": "/m"}, "engine": "vllm"}
    assert VLLMEngine(RoleConfig.model_validate(role))._engine_kwargs()["dtype"] == want
    # The role's own dtype, and vLLM's argument above both.
    fixed = RoleConfig.model_validate({**role, "dtype": "float16"})
    assert VLLMEngine(fixed)._engine_kwargs()["dtype"] == "float16"
    given = RoleConfig.model_validate({**role, "vllm": {"engine_kwargs": {"dtype": "float32"}}})
    assert VLLMEngine(given)._engine_kwargs()["dtype"] == "float32"
