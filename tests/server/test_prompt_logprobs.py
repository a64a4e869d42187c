"""`/v1/completions` with `echo` and `logprobs` through the openai SDK, on a role of each engine
(`mixed`: base on our loop, instruct on vLLM): the prompt's tokens with their log-probabilities
(the first `null`, as OpenAI's legacy completions) followed by the generated ones, whole and
streamed, and `max_tokens: 0` scoring the prompt alone, the way lm-evaluation-harness asks for a
log-likelihood."""

from __future__ import annotations

import openai
import pytest

ENGINES = ["base", "instruct"]  # hf, vllm
PROMPT = "The capital of France is Paris"


@pytest.fixture(scope="module")
def client(mixed):
    return openai.OpenAI(base_url=f"{mixed}/v1", api_key="unused", max_retries=0, timeout=120)


@pytest.fixture(params=ENGINES)
def model(request):
    return request.param


def test_echo_with_logprobs_gives_the_prompt_then_the_answer(client, model):
    plain = client.completions.create(model=model, prompt=PROMPT, max_tokens=3, logprobs=2,
                                      temperature=0)
    echo = client.completions.create(model=model, prompt=PROMPT, max_tokens=3, logprobs=2,
                                     temperature=0, echo=True)
    choice, lp = echo.choices[0], echo.choices[0].logprobs
    n_prompt = echo.usage.prompt_tokens
    assert choice.text == PROMPT + plain.choices[0].text
    assert len(lp.tokens) == len(lp.token_logprobs) == len(lp.top_logprobs) == n_prompt + 3
    assert lp.token_logprobs[0] is None and lp.top_logprobs[0] is None
    assert all(v <= 0 for v in lp.token_logprobs[1:])
    assert all(1 <= len(top) <= 2 for top in lp.top_logprobs[1:])
    assert lp.tokens[n_prompt:] == plain.choices[0].logprobs.tokens  # the answer's own, after
    assert lp.token_logprobs[n_prompt:] == pytest.approx(plain.choices[0].logprobs.token_logprobs)
    assert lp.text_offset == sorted(lp.text_offset) and lp.text_offset[0] == 0
    assert echo.usage.completion_tokens == plain.usage.completion_tokens == 3


def test_max_tokens_0_scores_the_prompt_alone(client, model):
    out = client.completions.create(model=model, prompt=PROMPT, max_tokens=0, logprobs=1,
                                    echo=True)
    choice, lp = out.choices[0], out.choices[0].logprobs
    assert choice.text == PROMPT and choice.finish_reason == "length"
    assert len(lp.tokens) == out.usage.prompt_tokens and out.usage.completion_tokens == 0
    scored = client.completions.create(model=model, prompt=PROMPT, max_tokens=2, logprobs=1,
                                       echo=True).choices[0].logprobs
    assert lp.token_logprobs == pytest.approx(scored.token_logprobs[:len(lp.tokens)], abs=1e-5)


def test_token_id_prompts_are_scored_as_lm_eval_sends_them(client, model):
    """lm-evaluation-harness's `local-completions` sends context + continuation as token ids,
    `echo`, `logprobs: 1`, `max_tokens: 1`, and reads `token_logprobs[ctxlen:-1]` and whether
    each of those tokens was the most likely (`top_logprobs`)."""
    out = client.completions.create(model=model, prompt=[[5, 17, 42, 8], [9, 9]], max_tokens=1,
                                    logprobs=1, echo=True, temperature=0)
    assert [len(c.logprobs.tokens) for c in out.choices] == [5, 3]
    assert out.usage.prompt_tokens == 6 and out.usage.completion_tokens == 2
    for c in out.choices:
        lp = c.logprobs
        assert lp.token_logprobs[0] is None and all(v <= 0 for v in lp.token_logprobs[1:])
        for token, value, top in zip(lp.tokens[1:], lp.token_logprobs[1:], lp.top_logprobs[1:]):
            [(best, best_value)] = top.items()
            assert best_value >= value - 1e-6 and (best != token or best_value == pytest.approx(value))
        # greedy: the generated token is the most likely one
        assert lp.top_logprobs[-1] == {lp.tokens[-1]: pytest.approx(lp.token_logprobs[-1])}


def test_streamed_echo_equals_the_whole(client, model):
    kw = dict(model=model, prompt=PROMPT, max_tokens=4, logprobs=1, echo=True, temperature=0)
    whole = client.completions.create(**kw).choices[0]
    chunks = [c for c in client.completions.create(stream=True, **kw) if c.choices]
    assert "".join(c.choices[0].text for c in chunks) == whole.text
    streamed = [t for c in chunks if c.choices[0].logprobs for t in c.choices[0].logprobs.tokens]
    assert streamed == whole.logprobs.tokens
    assert chunks[0].choices[0].logprobs.token_logprobs[0] is None


def test_max_tokens_0_without_echo_is_a_400_naming_it(client):
    with pytest.raises(openai.BadRequestError) as err:
        client.completions.create(model="base", prompt=PROMPT, max_tokens=0)
    assert err.value.body["param"] == "max_tokens"
