"""The sampling parameters are declared once (`serve.api.params.SAMPLING`), and every model and
mapping that carries them is checked against that list here: the compare wire model, the OpenAI
request and its mapping, a role's defaults, the resolved parameters and the vLLM mapping. A
parameter added in one place and not the others fails one of these tests, which names it."""

from __future__ import annotations

import dataclasses

from serve.api.openai import ChatCompletionRequest
from serve.api.params import SAMPLING
from serve.api.protocol import GenerationParams
from serve.config import RoleConfig, SamplingDefaults
from serve.generation import PreparedRequest, SamplingParams, resolve_sampling, thinking_budget

NAMES = {p.name for p in SAMPLING}

# A value for each parameter that is no place's default, in the OpenAI request's terms.
OPENAI_VALUES = {
    "max_tokens": 17, "temperature": 0.3, "top_p": 0.9, "top_k": 5, "min_p": 0.05,
    "repetition_penalty": 1.1, "presence_penalty": 0.2, "frequency_penalty": 0.3,
    "logit_bias": {"7": 1.5}, "stop": ["zz"], "seed": 3, "min_tokens": 2, "ignore_eos": True,
    "include_stop_str_in_output": True, "logprobs": True, "top_logprobs": 2,
    "response_format": {"type": "json_object"}, "chat_template_kwargs": {"enable_thinking": False},
    "thinking_token_budget": 9,
}
ROLE = RoleConfig(model={"source": "local", "path": "/nonexistent/tiny"}, max_new_tokens_cap=512,
                  top_logprobs_cap=5)


def _request() -> ChatCompletionRequest:
    return ChatCompletionRequest(model="instruct", messages=[{"role": "user", "content": "hi"}],
                                 **OPENAI_VALUES)


def _generation_params() -> GenerationParams:
    """The OpenAI request as the chat route turns it into the wire's parameters."""
    body = _request()
    return thinking_budget(body.to_generation_params(), ROLE, body.reasoning_effort,
                           body.thinking_token_budget)


def test_the_compare_wire_model_has_every_parameter_and_no_other():
    assert set(GenerationParams.model_fields) == NAMES


def test_the_openai_request_carries_every_parameter_it_names():
    fields = set(ChatCompletionRequest.model_fields)
    named = {p.openai.split(".")[0] for p in SAMPLING if p.openai}
    assert named - fields == set()
    assert {p.openai.split(".")[0] for p in SAMPLING if p.openai} <= set(OPENAI_VALUES)


def test_the_openai_mapping_forwards_every_parameter():
    params = _generation_params()
    lost = sorted(p.name for p in SAMPLING if p.openai and getattr(params, p.name) is None)
    assert lost == []


def test_a_role_can_default_exactly_the_parameters_declared_so():
    assert set(SamplingDefaults.model_fields) - {"do_sample"} == \
        {p.name for p in SAMPLING if p.role_default}


def test_resolving_keeps_every_parameter():
    assert {f.name for f in dataclasses.fields(SamplingParams)} == {p.internal for p in SAMPLING}
    plain = resolve_sampling(GenerationParams(), ROLE)
    asked = resolve_sampling(_generation_params(), ROLE)
    unchanged = sorted(p.name for p in SAMPLING
                       if getattr(asked, p.internal) == getattr(plain, p.internal))
    assert unchanged == []


def test_the_vllm_mapping_passes_every_parameter_vllm_takes():
    from vllm import SamplingParams as VLLMSamplingParams

    from serve.engines.vllm.engine import VLLMEngine

    engine = VLLMEngine(ROLE)
    engine.eos_ids = {2}

    class Prompts:  # what _budget reads of the prompt builder: Qwen3's <think> and </think>
        think_ids = (151667, 151668)

    engine.prompts = Prompts()
    sampling = resolve_sampling(_generation_params(), ROLE)
    theirs = engine._sampling(PreparedRequest("r", [1, 2, 3], sampling, thinking=True))
    default = VLLMSamplingParams()
    unchanged = sorted(p.vllm for p in SAMPLING
                       if p.vllm and getattr(theirs, p.vllm) == getattr(default, p.vllm))
    assert unchanged == []
