"""App configs for tests: the three roles on tiny models, or on the scripted engine."""

from __future__ import annotations

from pathlib import Path


# Thinking budgets a tiny test can see spent (a random model never stops thinking on its own).
TINY_EFFORT = {"none": 0, "minimal": 0, "low": 4, "medium": 8, "high": 12, "xhigh": 16, "max": 20}


def tiny_roles(dirs: dict[str, Path], **overrides) -> dict:
    def role(kind, **extra):
        cfg = {
            "model": {"source": "local", "path": str(dirs[kind])},
            "served_model_name": f"tiny-{kind}",
            "defaults": {"max_new_tokens": 16, "temperature": 0.0},
            "max_new_tokens_cap": 64,
            "max_input_tokens": 256,
            "torch_threads": 1,
            "batching": {"max_batch_size": 8, "batch_wait_timeout_s": 0.005},
        }
        cfg.update(extra)
        return cfg

    roles = {
        "base": role("qwen2", prompt_format="raw"),
        "instruct": role("qwen2", system_prompt="You are a helpful assistant."),
        "reasoning": role("qwen3", reasoning=True, reasoning_effort=TINY_EFFORT),
    }
    for name, extra in overrides.items():
        roles[name].update(extra)
    return {"roles": roles}


def scripted_role(**script) -> dict:
    return {
        "model": {"source": "local", "path": "/nonexistent"},
        "served_model_name": "scripted",
        "engine": "scripted",
        "scripted": script,
    }


# vLLM on CPU for tests: float32 as our loop, no torch.compile (it adds a minute to a start), a
# small KV cache and context.
VLLM_TEST = {"engine_kwargs": {"max_model_len": 512, "dtype": "float32", "enforce_eager": True,
                               "max_num_seqs": 16},
             "env": {"VLLM_CPU_KVCACHE_SPACE": "1"}}


def vllm_role(path: Path, **extra) -> dict:
    """A role on the vllm engine over the tiny model at `path`, greedy, 16 new tokens."""
    return {
        "model": {"source": "local", "path": str(path)},
        "served_model_name": "tiny-vllm",
        "engine": "vllm",
        "vllm": VLLM_TEST,
        "defaults": {"max_new_tokens": 16, "temperature": 0.0},
        "max_new_tokens_cap": 256,
        "max_input_tokens": 1024,
        **extra,
    }
