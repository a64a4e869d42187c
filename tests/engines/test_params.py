"""The OpenAI sampling parameters on both engines, on the same tiny model: each does what it says,
and both engines agree (the same model in float32 gives the same log-probabilities)."""

from __future__ import annotations

import json

import pytest

from serve.api.protocol import ResponseFormat
from serve.errors import InvalidRequest
from test_contract import many, one, request

PROMPT = "the quick brown fox"


def raw(**params):
    return request(PROMPT, raw=True, **params)


def test_logit_bias_forces_a_token(driver):
    tokenizer = driver.engine.tokenizer
    token = tokenizer(PROMPT)["input_ids"][-1]
    out = one(driver, raw(max_new_tokens=6, logit_bias={str(token): 100}))
    assert out.content == tokenizer.decode([token] * 6)


def test_logit_bias_outside_the_vocabulary_is_refused(driver):
    with pytest.raises(InvalidRequest) as err:
        driver.engine.prepare(raw(logit_bias={"99999999": 1}))
    assert err.value.param == "logit_bias"


def test_frequency_penalty_breaks_repetition(driver):
    plain = one(driver, raw(max_new_tokens=24))
    penalised = one(driver, raw(max_new_tokens=24, frequency_penalty=2.0, presence_penalty=2.0))
    ids = driver.engine.tokenizer(plain.response)["input_ids"]
    assert len(set(ids)) < len(ids), "the tiny model repeats itself without a penalty"
    assert penalised.response != plain.response


def test_ignore_eos_runs_to_the_length(driver):
    eos = sorted(driver.engine.eos_ids)[0]
    out = one(driver, raw(max_new_tokens=8, ignore_eos=True, logit_bias={str(eos): 100}))
    assert (out.finish_reason, out.completion_tokens) == ("length", 8)


def test_min_tokens_holds_off_the_end(driver):
    eos = sorted(driver.engine.eos_ids)[0]
    stopped = one(driver, raw(max_new_tokens=8, logit_bias={str(eos): 20}))
    assert (stopped.finish_reason, stopped.completion_tokens) == ("stop", 1)
    held = one(driver, raw(max_new_tokens=8, min_tokens=5, logit_bias={str(eos): 20}))
    assert (held.finish_reason, held.completion_tokens) == ("stop", 6)


def test_include_stop_str_in_output(driver):
    plain = one(driver, raw(max_new_tokens=12))
    stop = plain.content[3:6]
    cut = one(driver, raw(max_new_tokens=12, stop=[stop]))
    kept = one(driver, raw(max_new_tokens=12, stop=[stop], include_stop_str_in_output=True))
    assert kept.content == cut.content + stop


def test_top_k_beyond_the_vocabulary_is_all_of_it(driver):
    prepared = driver.engine.prepare(raw(top_k=10**6))
    assert prepared.sampling.top_k == 0


def test_logprobs(driver):
    out = one(driver, raw(max_new_tokens=6, logprobs=True, top_logprobs=3))
    assert len(out.logprobs) == 6
    for lp in out.logprobs:
        assert lp.logprob <= 0 and len(lp.top) == 3
        values = [v for _, v, _ in lp.top]
        assert values == sorted(values, reverse=True)
        assert lp.top[0][0] == lp.token and lp.top[0][1] == pytest.approx(lp.logprob)  # greedy
    assert "".join(lp.token for lp in out.logprobs) == out.content


def test_logprobs_agree_across_engines(drivers):
    outs = [one(drivers(kind), raw(max_new_tokens=5, logprobs=True, top_logprobs=2))
            for kind in ("hf", "vllm")]
    assert [lp.token for lp in outs[0].logprobs] == [lp.token for lp in outs[1].logprobs]
    for a, b in zip(outs[0].logprobs, outs[1].logprobs):
        assert a.logprob == pytest.approx(b.logprob, abs=1e-3)


SCHEMA = {"type": "object", "properties": {"answer": {"type": "boolean"},
                                           "size": {"enum": ["small", "large"]}},
          "required": ["answer", "size"], "additionalProperties": False}


def test_json_schema_is_followed(driver):
    fmt = ResponseFormat.model_validate(
        {"type": "json_schema", "json_schema": {"name": "verdict", "schema": SCHEMA}})
    outs = many(driver, [raw(max_new_tokens=40, response_format=fmt, temperature=1.0, seed=s)
                         for s in range(3)])
    for out in outs:
        value = json.loads(out.content)
        assert set(value) == {"answer", "size"} and isinstance(value["answer"], bool)


def test_json_object_starts_an_object(driver):
    out = one(driver, raw(max_new_tokens=12, response_format=ResponseFormat(type="json_object")))
    assert out.content.startswith("{")


def test_a_constrained_reasoning_reply_thinks_freely_then_answers_in_json(driver):
    fmt = ResponseFormat.model_validate(
        {"type": "json_schema", "json_schema": {"name": "verdict", "schema": SCHEMA}})
    out = one(driver, request("Is 9.8 larger?", max_new_tokens=60, response_format=fmt,
                              logit_bias={str(driver.engine.prompts.think_ids[1]): 8}))
    if out.finish_reason == "stop":
        json.loads(out.content)
