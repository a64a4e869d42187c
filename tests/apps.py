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
# small KV cache and context, and the model run in the engine core's process, as the vLLM demo
# runs it (deployments/demo-vllm.yaml says why: a start a quarter shorter).
VLLM_TEST = {"engine_kwargs": {"max_model_len": 512, "dtype": "float32", "enforce_eager": True,
                               "max_num_seqs": 16},
             "env": {"VLLM_CPU_KVCACHE_SPACE": "1", "VLLM_ENABLE_V1_MULTIPROCESSING": "0"}}


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


def five_roles(dirs: dict[str, Path]) -> dict:
    """Five roles on tiny models, two base and two reasoning: a second base model (the Qwen3),
    and the reasoning model with thinking off by default; the instruct role has a price."""
    roles = tiny_roles(dirs)["roles"]
    for cfg in roles.values():
        cfg.pop("prompt_format", None)
        cfg.pop("reasoning", None)
    qwen3 = roles["reasoning"]
    return {"roles": {
        "base": {**roles["base"], "kind": "base"},
        "base-b": {**qwen3, "kind": "base", "reasoning_effort": {}},
        "instruct": {**roles["instruct"], "kind": "instruct",
                     "price": {"input_per_million": 0.5, "output_per_million": 2.0}},
        "reasoning": {**qwen3, "kind": "reasoning"},
        "reasoning-off": {**qwen3, "kind": "reasoning",
                          "defaults": {**qwen3["defaults"], "enable_thinking": False}},
    }}


def thread_roles(record_dir: Path) -> dict:
    """Five scripted roles of the three kinds, each answering its own fixed text and recording
    every request it is given (`scripted.record_file`: `<record_dir>/<role>.jsonl`)."""
    def role(kind, tokens, **extra):
        cfg = {**scripted_role(tokens=tokens, **extra.pop("script", {})), "kind": kind, **extra}
        return cfg

    roles = {
        "base": role("base", [" continued", " text."]),
        "base-b": role("base", [" and", " more."]),
        "instruct": role("instruct", ["I", " am", " instruct."], system_prompt="Be brief."),
        "reasoning": role("reasoning", ["Reasoned", " answer."], script={"think": ["hmm "]}),
        "reasoning-off": role("reasoning", ["Quick", " answer."], script={"think": ["hmm "]},
                              defaults={"enable_thinking": False}),
    }
    for name, cfg in roles.items():
        cfg["scripted"]["record_file"] = str(record_dir / f"{name}.jsonl")
    return {"roles": roles}
