"""lm-evaluation-harness (`lm_eval`, its command line as users run it) against the tiny app, on
tasks this test writes (no dataset download): `local-completions` on the base role with a
multiple-choice task (log-likelihoods: `echo` + `logprobs` on token-id prompts) and a
`generate_until` task, and `local-chat-completions` on the instruct role. Each run must finish
and report its metric; the log-likelihoods must be the server's own prompt log-probabilities."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

QUESTIONS = [
    {"question": "Which is larger, 9.11 or 9.8?", "choices": [" 9.8", " 9.11"], "answer": 0},
    {"question": "The capital of France is", "choices": [" Paris", " Rome", " Oslo"], "answer": 0},
    {"question": "Two plus two is", "choices": [" four", " five"], "answer": 0},
]

TASKS = """\
task: triserve_choice
dataset_path: json
dataset_kwargs:
  data_files:
    test: {data}
test_split: test
output_type: multiple_choice
doc_to_text: "{{{{question}}}}"
doc_to_choice: "{{{{choices}}}}"
doc_to_target: answer
metric_list:
  - metric: acc
---
task: triserve_generate
dataset_path: json
dataset_kwargs:
  data_files:
    test: {data}
test_split: test
output_type: generate_until
doc_to_text: "Q: {{{{question}}}}\\nA:"
doc_to_target: "{{{{choices[answer]}}}}"
generation_kwargs:
  until: ["\\n"]
  max_gen_toks: 6
  do_sample: false
metric_list:
  - metric: exact_match
"""


@pytest.fixture(scope="module")
def tasks(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("lm-eval-tasks")
    data = folder / "questions.jsonl"
    data.write_text("".join(json.dumps(q) + "\n" for q in QUESTIONS))
    for i, text in enumerate(TASKS.format(data=data).split("---\n")):
        (folder / f"task{i}.yaml").write_text(text)
    return folder


def lm_eval(tasks: Path, out: Path, model: str, model_args: dict, *names: str,
            chat: bool = False) -> dict:
    """Runs `python -m lm_eval` and returns its results file (results per task)."""
    args = ",".join(f"{k}={v}" for k, v in model_args.items())
    cmd = [sys.executable, "-m", "lm_eval", "--model", model, "--model_args", args,
           "--tasks", ",".join(names), "--include_path", str(tasks), "--output_path", str(out),
           "--log_samples", *(["--apply_chat_template"] if chat else [])]
    env = {**os.environ, "HF_DATASETS_OFFLINE": "1", "HF_HUB_OFFLINE": "1",
           "OPENAI_API_KEY": "unused"}
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=600, env=env)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-6000:]
    [results] = list(out.rglob("results_*.json"))
    return json.loads(results.read_text())


def test_local_completions_scores_choices_and_generates_on_the_base_role(tiny_app, tiny_dirs,
                                                                        tasks, tmp_path):
    out = lm_eval(tasks, tmp_path / "out", "local-completions",
                  {"model": "base", "base_url": f"{tiny_app}/v1/completions",
                   "tokenizer": tiny_dirs["qwen2"], "tokenizer_backend": "huggingface",
                   "max_retries": 1, "num_concurrent": 2},
                  "triserve_choice", "triserve_generate")
    choice, generate = out["results"]["triserve_choice"], out["results"]["triserve_generate"]
    assert 0.0 <= choice["acc,none"] <= 1.0 and 0.0 <= generate["exact_match,none"] <= 1.0
    # The harness's log-likelihood of a choice is the server's: sum the continuation's prompt
    # log-probabilities from /v1/completions (echo, max_tokens 0) and compare.
    [sample] = [json.loads(line) for f in (tmp_path / "out").rglob("samples_triserve_choice_*")
                for line in f.read_text().splitlines()][:1]
    context, continuation = sample["arguments"]["gen_args_0"].values()
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(tiny_dirs["qwen2"])
    whole, ctx = tok(context + continuation)["input_ids"], tok(context)["input_ids"]
    r = httpx.post(f"{tiny_app}/v1/completions", timeout=60, json={
        "model": "base", "prompt": whole, "max_tokens": 0, "echo": True, "logprobs": 1}).json()
    ours = sum(r["choices"][0]["logprobs"]["token_logprobs"][len(ctx):])
    theirs = float(sample["resps"][0][0][0])  # the samples file keeps it as text
    assert theirs == pytest.approx(ours, abs=1e-4)


def test_local_chat_completions_generates_on_the_instruct_role(tiny_app, tasks, tmp_path):
    out = lm_eval(tasks, tmp_path / "out", "local-chat-completions",
                  {"model": "instruct", "base_url": f"{tiny_app}/v1/chat/completions",
                   "max_retries": 1, "num_concurrent": 2},
                  "triserve_generate", chat=True)
    assert 0.0 <= out["results"]["triserve_generate"]["exact_match,none"] <= 1.0
    assert out["n-samples"]["triserve_generate"]["effective"] == len(QUESTIONS)
