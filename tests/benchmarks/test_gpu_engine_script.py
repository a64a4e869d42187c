"""`benchmarks/gpu_engine.py` is meant for a GPU machine that reaches no package index; this
runs the same code with `--tiny` on CPU, so that it is known to work before it gets there.
(It checks that the script runs and reports; it times nothing.)"""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "gpu_engine.py"


def test_gpu_engine_runs_tiny_on_cpu_and_reports_every_engine_model_and_batch(monkeypatch, capsys):
    spec = importlib.util.spec_from_file_location("gpu_engine", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    argv = ["gpu_engine.py", "--tiny", "--batches", "1,3", "--new-tokens", "4", "--reps", "1"]
    monkeypatch.setattr(sys, "argv", argv)
    module.main()
    line = next(x for x in capsys.readouterr().out.splitlines() if x.startswith("JSON "))
    result = json.loads(line[5:])
    assert result["device"] == "cpu"
    rows = {(r["engine"], r["model"], r["batch"]): r for r in result["rows"]}
    assert set(rows) == {(e, m, b) for e in ("hf", "vllm") for m in ("qwen2.5-3b", "qwen3-4b")
                         for b in (1, 3)}
    for (_, _, batch), row in rows.items():
        assert row["tokens"] == 4 * batch  # every row decoded all its tokens (no EOS)
        assert row["ttft_s"] > 0 and row["decode_tok_s"] > 0
