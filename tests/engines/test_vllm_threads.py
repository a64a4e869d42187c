"""A vLLM role's `torch_threads` is its engine core's OpenMP threads, set only while vLLM starts
that process (serve/engines/vllm/engine.py `omp_threads`). tests/server/test_demo_vllm_role.py
checks the engine core of a role served by Ray Serve."""

from __future__ import annotations

import os

import torch

from serve.engines.vllm.engine import omp_threads


def test_omp_threads_sets_both_counts_and_restores_them(monkeypatch):
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    threads = torch.get_num_threads()
    with omp_threads(3):
        assert os.environ["OMP_NUM_THREADS"] == "3"
        assert torch.get_num_threads() == 3
    assert os.environ["OMP_NUM_THREADS"] == "1"
    assert torch.get_num_threads() == threads
    monkeypatch.delenv("OMP_NUM_THREADS")
    with omp_threads(2):
        assert os.environ["OMP_NUM_THREADS"] == "2"
    assert "OMP_NUM_THREADS" not in os.environ
    with omp_threads(None):
        assert "OMP_NUM_THREADS" not in os.environ
        assert torch.get_num_threads() == threads
