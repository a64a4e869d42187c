"""Usage as OpenAI counts it, for every `n`, route and stream/whole pair, on both engines: each
prompt's tokens once however many choices it has, every choice's completion tokens, and the
streamed usage frame equal to the whole answer's usage."""

from __future__ import annotations

import pytest
from openai import OpenAI

# In the `mixed` app the base role runs on our loop and the instruct role on vLLM; both allow n=4.
ENGINES = {"hf": "base", "vllm": "instruct"}
QUESTION = "9.11和9.8哪个更大？"
OTHER = "Name three fruits and one vegetable, please."


def _usage(url: str, role: str, route: str, n: int, stream: bool):
    client = OpenAI(base_url=f"{url}/v1", api_key="unused", max_retries=0)
    common = dict(model=role, n=n, max_tokens=6, temperature=0, stream=stream)
    if stream:
        common["stream_options"] = {"include_usage": True}
    if route == "chat":
        out = client.chat.completions.create(
            messages=[{"role": "user", "content": QUESTION}], **common)
    else:
        prompt = QUESTION if route == "completions" else [QUESTION, OTHER]
        out = client.completions.create(prompt=prompt, **common)
    if not stream:
        return out.usage, len(out.choices)
    chunks = list(out)
    [last] = [c for c in chunks if c.usage is not None]
    assert chunks[-1] is last and last.choices == []  # usage comes last, in a frame of its own
    return last.usage, len({c.choices[0].index for c in chunks if c.choices})


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("route", ["chat", "completions", "completions-list"])
@pytest.mark.parametrize("stream", [False, True], ids=["whole", "stream"])
def test_each_prompt_counts_once_whatever_n(mixed, engine, route, stream):
    role = ENGINES[engine]
    prompts = 2 if route == "completions-list" else 1
    one, choices = _usage(mixed, role, route, 1, stream=False)
    assert choices == prompts
    three, choices = _usage(mixed, role, route, 3, stream=stream)
    assert choices == 3 * prompts
    assert three.prompt_tokens == one.prompt_tokens  # not 3×: the prompt was read once
    # Greedy: every choice of a prompt is the same answer, so it costs the same tokens.
    assert three.completion_tokens == 3 * one.completion_tokens
    assert three.total_tokens == three.prompt_tokens + three.completion_tokens


@pytest.mark.parametrize("engine", ENGINES)
def test_a_list_of_prompts_counts_each_of_them(mixed, engine):
    role = ENGINES[engine]
    a = _usage(mixed, role, "completions", 1, stream=False)[0]
    both = _usage(mixed, role, "completions-list", 2, stream=False)[0]
    client = OpenAI(base_url=f"{mixed}/v1", api_key="unused", max_retries=0)
    b = client.completions.create(model=role, prompt=OTHER, max_tokens=6, temperature=0).usage
    assert both.prompt_tokens == a.prompt_tokens + b.prompt_tokens
    assert both.completion_tokens == 2 * (a.completion_tokens + b.completion_tokens)
