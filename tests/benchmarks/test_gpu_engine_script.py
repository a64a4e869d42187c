"""`benchmarks/gpu_engine.py` is meant for a GPU machine that reaches no package index; this
runs the same code with `--tiny` on CPU, so that it is known to work before it gets there.
(It checks that the script runs and reports; it times nothing.)"""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "gpu_engine.py"


def run_script(monkeypatch, capsys, *args: str) -> dict:
    spec = importlib.util.spec_from_file_location("gpu_engine", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    argv = ["gpu_engine.py", "--tiny", "--batches", "1,3", "--new-tokens", "4", "--reps", "1",
            *args]
    monkeypatch.setattr(sys, "argv", argv)
    module.main()
    line = next(x for x in capsys.readouterr().out.splitlines() if x.startswith("JSON "))
    return json.loads(line[5:])


def test_gpu_engine_runs_tiny_on_cpu_and_reports_every_engine_model_and_batch(monkeypatch, capsys):
    # Both architectures on our loop (what the lent GPU machine runs), and vLLM on one of them:
    # the two differ only in the config that both engines build from (`build_config`), and each
    # vLLM start costs about 25 s here.
    result = run_script(monkeypatch, capsys, "--engines", "hf")
    vllm = run_script(monkeypatch, capsys, "--engines", "vllm", "--models", "qwen3-4b")
    assert result["device"] == vllm["device"] == "cpu"
    rows = {(r["engine"], r["model"], r["batch"]): r for r in result["rows"] + vllm["rows"]}
    assert set(rows) == {(e, m, b) for e, m in (("hf", "qwen2.5-3b"), ("hf", "qwen3-4b"),
                                                 ("vllm", "qwen3-4b")) for b in (1, 3)}
    for (_, _, batch), row in rows.items():
        assert row["tokens"] == 4 * batch  # every row decoded all its tokens (no EOS)
        assert row["ttft_s"] > 0 and row["decode_tok_s"] > 0
