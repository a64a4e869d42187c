"""The SDK's request bodies carry every sampling parameter the OpenAI routes take under the same
name, read off the wire models (a field added to GenerationParams reaches the body unlisted)."""

from __future__ import annotations

import json

from clients._core import Core
from serve.api.openai import ChatCompletionRequest, CompletionRequest
from serve.api.protocol import GenerationParams

PARAMS = {"max_new_tokens": 5, "temperature": 0.5, "top_p": 0.9, "top_k": 4, "min_p": 0.1,
          "repetition_penalty": 1.1, "presence_penalty": 0.5, "frequency_penalty": -0.5,
          "logit_bias": {"7": 1.0}, "stop": ["x"], "seed": 3, "min_tokens": 1, "ignore_eos": True,
          "include_stop_str_in_output": True, "logprobs": True, "top_logprobs": 2,
          "response_format": {"type": "json_object"}, "enable_thinking": False,
          "max_thinking_tokens": 4}
MESSAGES = [{"role": "user", "content": "hi"}]


def _sent(body) -> dict:
    return json.loads(body.model_dump_json(exclude_none=True, by_alias=True))


def test_the_test_sets_every_field():
    assert set(PARAMS) == set(GenerationParams.model_fields)


def test_chat_body_carries_every_parameter():
    body = _sent(Core.chat_body("instruct", MESSAGES, PARAMS, stream=False))
    expected = {k: v for k, v in _sent(GenerationParams(**PARAMS)).items()
                if k not in ("max_new_tokens", "enable_thinking", "max_thinking_tokens")}
    assert {k: body[k] for k in expected} == expected
    assert body["max_completion_tokens"] == 5 and body["thinking_token_budget"] == 4
    assert body["chat_template_kwargs"] == {"enable_thinking": False}
    ChatCompletionRequest.model_validate(body)  # and the server's model takes it


def test_completion_body_asks_for_logprobs_as_a_count():
    body = _sent(Core.completion_body("base", "Once", PARAMS, stream=True))
    assert body["max_tokens"] == 5 and body["logprobs"] == 2 and body["presence_penalty"] == 0.5
    assert "top_logprobs" not in body and "enable_thinking" not in body
    CompletionRequest.model_validate(body)


def test_a_json_schema_goes_out_under_its_wire_name():
    fmt = {"type": "json_schema", "json_schema": {"name": "v", "schema": {"type": "object"}}}
    core = Core("http://127.0.0.1:1", api_key=None, timeout=5.0, max_retries=0)
    request = core.request(__import__("httpx").Client(), "POST", "/v1/chat/completions",
                           Core.chat_body("instruct", MESSAGES, {"response_format": fmt}, False))
    sent = json.loads(request.content)
    assert sent["response_format"]["json_schema"]["schema"] == {"type": "object"}
