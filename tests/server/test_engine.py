"""The real engine on tiny random Qwen2 and Qwen3 models: determinism, sampling, stops, batching."""

from __future__ import annotations

import pytest

from serve.api.protocol import GenerationParams
from serve.config import RoleConfig
from serve.engines.hf.engine import HFEngine
from serve.errors import InvalidRequest
from serve.generation import Accumulator, GenerationRequest


def make_engine(path, **extra) -> HFEngine:
    cfg = {"model": {"source": "local", "path": str(path)}, "torch_threads": 1,
           "defaults": {"max_new_tokens": 24, "temperature": 0.0}, **extra}
    engine = HFEngine(RoleConfig.model_validate(cfg))
    engine.load()
    return engine


@pytest.fixture(scope="module")
def qwen2(tiny_dirs):
    return make_engine(tiny_dirs["qwen2"])


@pytest.fixture(scope="module")
def qwen3(tiny_dirs):
    return make_engine(tiny_dirs["qwen3"], reasoning=True)


def request(prompt="Which is larger, 9.11 or 9.8?", **params) -> GenerationRequest:
    return GenerationRequest(request_id="t", prompt=prompt, params=GenerationParams(**params))


def run(engine, *reqs: GenerationRequest):
    """Decodes the requests as one batch; returns their Completions."""
    prepared = [engine.prepare(r) for r in reqs]
    accs = [Accumulator(0.0) for _ in prepared]
    seen_final = [0] * len(prepared)
    for step in engine.steps(prepared):
        assert len(step) == len(prepared)
        for i, chunk in enumerate(step):
            if chunk is not None:
                assert seen_final[i] == 0, "a chunk came after the final one"
                accs[i].add(chunk, 0.0)
                seen_final[i] += chunk.finish_reason is not None
    assert seen_final == [1] * len(prepared)
    return [a.completion(engine.model_id, 0.0) for a in accs]


@pytest.mark.parametrize("kind", ["qwen2", "qwen3"])
def test_greedy_is_deterministic(kind, qwen2, qwen3):
    engine = {"qwen2": qwen2, "qwen3": qwen3}[kind]
    first, second = run(engine, request()), run(engine, request())
    assert first[0].response == second[0].response
    assert first[0].completion_tokens > 0


def test_seeded_sampling_is_reproducible_and_seed_dependent(qwen2):
    params = dict(temperature=1.0, top_p=0.9, top_k=50, seed=1234, max_new_tokens=24)
    a = run(qwen2, request(**params))[0].response
    b = run(qwen2, request(**params))[0].response
    c = run(qwen2, request(**{**params, "seed": 99}))[0].response
    assert a == b
    assert a != c


def test_length_finish_and_usage(qwen2):
    out = run(qwen2, request(max_new_tokens=5))[0]
    assert out.finish_reason == "length"
    assert out.completion_tokens == 5
    assert out.prompt_tokens == len(qwen2.prepare(request()).prompt_ids)


def test_stop_string_cuts_the_text(qwen2):
    full = run(qwen2, request(max_new_tokens=24))[0].content
    assert len(full) > 4
    stop = full[3:5]  # a string the greedy output is known to contain
    cut = run(qwen2, request(max_new_tokens=24, stop=[stop]))[0]
    assert cut.finish_reason == "stop"
    assert cut.content == full[: full.index(stop)]
    assert stop not in cut.content


def test_batched_equals_alone_for_greedy_with_mixed_requests(qwen2):
    prompts = ["hello", "Which is larger, 9.11 or 9.8? Please answer.", "苹果、香蕉、橘子、胡萝卜"]
    lengths = [7, 24, 13]
    alone = [run(qwen2, request(p, max_new_tokens=n))[0] for p, n in zip(prompts, lengths)]
    sampled = request("the quick brown fox", temperature=1.0, seed=7, max_new_tokens=24)
    sampled_alone = run(qwen2, sampled)[0]
    batched = run(qwen2, *[request(p, max_new_tokens=n) for p, n in zip(prompts, lengths)], sampled)
    for one, many in zip(alone + [sampled_alone], batched):
        assert many.response == one.response
        assert many.finish_reason == one.finish_reason
        assert many.completion_tokens == one.completion_tokens


def test_early_finisher_leaves_the_batch(qwen2):
    prepared = [qwen2.prepare(request(max_new_tokens=2)), qwen2.prepare(request(max_new_tokens=20))]
    finished_at = {}
    for n, step in enumerate(qwen2.steps(prepared)):
        for i, chunk in enumerate(step):
            if chunk is not None and chunk.finish_reason:
                finished_at[i] = n
    assert finished_at[0] <= 1 < finished_at[1]


def test_cancelled_request_finishes_at_the_next_step(qwen2):
    prepared = [qwen2.prepare(request(max_new_tokens=20)), qwen2.prepare(request(max_new_tokens=20))]
    reasons = {}
    for n, step in enumerate(qwen2.steps(prepared)):
        if n == 1:
            prepared[0].cancelled.set()
        for i, chunk in enumerate(step):
            if chunk is not None and chunk.finish_reason:
                reasons[i] = (n, chunk.finish_reason)
    assert reasons[0] == (2, "cancelled")


def test_reasoning_role_opens_thinking_in_the_prompt(qwen3):
    prepared = qwen3.prepare(request())
    assert prepared.thinking and prepared.prompt_opens_thinking
    # No </think> in a random model's 24 tokens: all of it is thinking, the answer is empty.
    out = run(qwen3, request())[0]
    assert out.thinking and out.content == ""


def test_enable_thinking_false_gives_plain_answer(qwen3):
    prepared = qwen3.prepare(request(enable_thinking=False))
    assert not prepared.thinking
    out = run(qwen3, request(enable_thinking=False))[0]
    assert out.thinking is None and out.content


def test_raw_prompt_has_no_template(qwen2):
    raw = qwen2.prepare(GenerationRequest(request_id="r", prompt="hello", raw=True))
    chat = qwen2.prepare(request("hello"))
    assert len(raw.prompt_ids) < len(chat.prompt_ids)
    assert "<|im_start|>" not in qwen2.tokenizer.decode(raw.prompt_ids)


def test_prompt_over_the_role_limit_is_refused_with_both_counts(tiny_dirs):
    engine = make_engine(tiny_dirs["qwen2"], max_input_tokens=8)
    with pytest.raises(InvalidRequest) as err:
        engine.prepare(request("a long prompt " * 10))
    assert err.value.param == "prompt" and err.value.code == "context_length_exceeded"
    assert "8" in err.value.message and "tokens" in err.value.message


def test_max_new_tokens_over_the_cap_is_refused(qwen2):
    with pytest.raises(InvalidRequest) as err:
        qwen2.prepare(request(max_new_tokens=10_000))
    assert err.value.param == "max_new_tokens"
