"""`tool_choice` that forces a call (`"required"`, or a named function) on every engine, with or
without a tool parser, whole and streamed; `parallel_tool_calls: false`; and tool-call history
served by roles that read no tool calls. The `mixed` app: base on our loop (hermes), instruct on
vLLM (hermes), reasoning on vLLM without a parser; tiny_app's roles have no parser at all."""

from __future__ import annotations

import json
from typing import Literal

import openai
import pytest
from langchain_openai import ChatOpenAI
from pydantic import BaseModel

from serve.api.openai import ChatCompletionRequest
from serve.ingress.tool_choice import ForcedTools

# Tools a tiny random model fills under a grammar in few tokens (its tokenizer spends about one
# token a character on JSON; the vLLM roles' context is 512): enums and booleans close at once.
UNIT = {"type": "function", "function": {"name": "unit", "parameters": {
    "type": "object", "properties": {"u": {"enum": ["c", "f"]}}, "required": ["u"],
    "additionalProperties": False}}}
FLAG = {"type": "function", "function": {"name": "flag", "parameters": {
    "type": "object", "properties": {"on": {"type": "boolean"}}, "required": ["on"],
    "additionalProperties": False}}}
KEYS = {"unit": {"u"}, "flag": {"on"}}
ASK = [{"role": "user", "content": "Is 9.11 larger than 9.8?"}]
ROLES = ["base", "instruct", "reasoning"]  # hf + parser, vLLM + parser, vLLM without a parser
# The reasoning role thinks first: a few tokens, then the constrained answer.
THINK = {"thinking_token_budget": 4}


@pytest.fixture(scope="module")
def client(mixed):
    return openai.OpenAI(base_url=f"{mixed}/v1", api_key="unused", max_retries=0, timeout=120)


def ask(client, role, stream=False, **kw):
    return client.chat.completions.create(model=role, messages=ASK, max_tokens=48, temperature=0,
                                          stream=stream, extra_body=THINK, **kw)


def streamed_calls(chunks) -> tuple[list[tuple[str, str]], str | None]:
    """The calls a stream's deltas build (by index, arguments concatenated) and its finish."""
    calls: dict[int, list[str]] = {}
    finish = None
    for chunk in chunks:
        for choice in chunk.choices:
            for d in choice.delta.tool_calls or []:
                name, args = calls.setdefault(d.index, ["", ""])
                calls[d.index] = [name + (d.function.name or ""), args + (d.function.arguments or "")]
            finish = choice.finish_reason or finish
    return [tuple(calls[i]) for i in sorted(calls)], finish


@pytest.mark.parametrize("role", ROLES)
def test_a_named_function_is_called_with_arguments_its_schema_takes(client, role):
    choice = {"type": "function", "function": {"name": "unit"}}
    r = ask(client, role, tools=[FLAG, UNIT], tool_choice=choice)
    message = r.choices[0].message
    [call] = message.tool_calls
    assert call.function.name == "unit" and call.type == "function" and call.id
    assert json.loads(call.function.arguments)["u"] in ("c", "f")
    assert message.content is None and r.choices[0].finish_reason == "tool_calls"
    whole = [(c.function.name, c.function.arguments) for c in message.tool_calls]
    assert streamed_calls(ask(client, role, stream=True, tools=[FLAG, UNIT],
                              tool_choice=choice)) == (whole, "tool_calls")


@pytest.mark.parametrize("role", ROLES)
def test_required_calls_one_of_the_tools(client, role):
    # parallel_tool_calls false: one call (a random model left free would list calls until
    # max_tokens; the grammar's many-call form is checked on its own below).
    r = ask(client, role, tools=[FLAG, UNIT], tool_choice="required", parallel_tool_calls=False)
    [call] = r.choices[0].message.tool_calls
    assert r.choices[0].finish_reason == "tool_calls"
    assert set(json.loads(call.function.arguments)) == KEYS[call.function.name]
    whole = [(call.function.name, call.function.arguments)]
    assert streamed_calls(ask(client, role, stream=True, tools=[FLAG, UNIT],
                              tool_choice="required", parallel_tool_calls=False)) == (
        whole, "tool_calls")


def test_required_takes_several_calls_unless_parallel_calls_are_off():
    body = {"model": "m", "messages": ASK, "tools": [FLAG, UNIT], "tool_choice": "required"}
    many = ForcedTools(ChatCompletionRequest.model_validate(body))
    schema = many.format.json_schema.schema_
    assert schema["minItems"] == 1 and "maxItems" not in schema
    assert [i["properties"]["name"]["enum"] for i in schema["items"]["anyOf"]] == [["flag"],
                                                                                   ["unit"]]
    calls = many.calls('[{"name":"flag","parameters":{"on":true}},'
                       '{"name":"unit","parameters":{"u":"c"}}]')
    assert [(c.name, json.loads(c.arguments)) for c in calls] == [("flag", {"on": True}),
                                                                  ("unit", {"u": "c"})]
    assert len({c.id for c in calls}) == 2 and many.calls('[{"name":"fl') == []
    one = ForcedTools(ChatCompletionRequest.model_validate({**body, "parallel_tool_calls": False}))
    assert one.format.json_schema.schema_["maxItems"] == 1


@pytest.mark.parametrize("body, param", [
    ({"tool_choice": {"type": "function", "function": {"name": "nope"}}},
     "tool_choice.function.name"),
    ({"tool_choice": "required", "response_format": {"type": "json_object"}}, "response_format"),
])
def test_what_cannot_be_forced_is_a_400_naming_it(client, body, param):
    with pytest.raises(openai.BadRequestError) as err:
        client.chat.completions.create(model="instruct", messages=ASK, tools=[UNIT],
                                       extra_body=body)
    assert err.value.body["param"] == param


HISTORY = ASK + [
    {"role": "assistant", "content": None, "tool_calls": [{"id": "call_1", "type": "function",
     "function": {"name": "get_weather", "arguments": '{"city": "Paris"}'}}]},
    {"role": "tool", "tool_call_id": "call_1", "content": "20 degrees, sunny"},
]


@pytest.mark.parametrize("app, role", [("tiny_app", "instruct"), ("tiny_app", "reasoning"),
                                       ("mixed", "reasoning"), ("mixed", "instruct")])
def test_a_history_with_tool_calls_is_served_by_every_role_with_a_template(tiny_app, mixed, app,
                                                                           role):
    url = {"tiny_app": tiny_app, "mixed": mixed}[app]
    c = openai.OpenAI(base_url=f"{url}/v1", api_key="unused", max_retries=0, timeout=120)
    r = c.chat.completions.create(model=role, messages=HISTORY, max_tokens=4)
    plain = c.chat.completions.create(model=role, messages=ASK, max_tokens=4)
    assert r.choices[0].finish_reason in ("stop", "length")
    assert r.usage.prompt_tokens > plain.usage.prompt_tokens  # the template rendered the history


class Unit(BaseModel):
    u: Literal["c", "f"]


@pytest.mark.parametrize("role", ["base", "reasoning"])
def test_langchain_structured_output_by_function_calling(mixed, role):
    """LangChain's `with_structured_output(method="function_calling")` forces its schema's tool
    (a named tool_choice) and reads the call back."""
    llm = ChatOpenAI(base_url=f"{mixed}/v1", api_key="unused", model=role, max_tokens=48,
                     temperature=0, max_retries=0, extra_body=THINK)
    unit = llm.with_structured_output(Unit, method="function_calling").invoke(ASK[0]["content"])
    assert isinstance(unit, Unit)
