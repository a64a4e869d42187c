"""The clients people build on, unchanged, against a role of each engine (`base`: hf, `instruct`:
vLLM): langchain-openai's ChatOpenAI (invoke, stream, batch, structured output, tools) and its
completions class with its defaults; litellm's completion, streaming and text_completion; and tool
calls read from the answer, whole and streamed, through the openai SDK."""

from __future__ import annotations

import json
import os
from typing import Literal

# litellm fetches a price table from GitHub at import; tests use its bundled copy (no network).
os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

import litellm  # noqa: E402
import openai  # noqa: E402
import pytest  # noqa: E402
from langchain_openai import ChatOpenAI, OpenAI  # noqa: E402
from pydantic import BaseModel  # noqa: E402

from tooling_checks import WEATHER_TOOL  # noqa: E402

QUESTION = "Which is larger, 9.11 or 9.8?"


@pytest.fixture(params=["base", "instruct"])
def model(request):
    return request.param


def chat_model(url: str, model: str, max_tokens: int = 8) -> ChatOpenAI:
    return ChatOpenAI(base_url=f"{url}/v1", api_key="unused", model=model, max_tokens=max_tokens,
                      temperature=0, max_retries=0)


def test_langchain_chat_invoke_stream_batch(mixed, model):
    llm = chat_model(mixed, model)
    whole = llm.invoke(QUESTION)
    assert whole.content and whole.response_metadata["finish_reason"] in ("stop", "length")
    streamed = "".join(chunk.content for chunk in llm.stream(QUESTION))
    assert streamed == whole.content
    batch = llm.batch([QUESTION, "hello world"])
    assert batch[0].content == whole.content and len(batch) == 2


class Verdict(BaseModel):
    answer: bool
    size: Literal["small", "large"]  # a free string: a random model never closes it


def test_langchain_structured_output(mixed, model):
    structured = chat_model(mixed, model, max_tokens=40).with_structured_output(Verdict)
    # The tiny model fills the schema it is held to (response_format json_schema).
    verdict = structured.invoke(QUESTION)
    assert isinstance(verdict, Verdict) and isinstance(verdict.answer, bool)


def test_langchain_completions_class_with_its_defaults(mixed, model):
    # Its defaults send presence_penalty 0, frequency_penalty 0, n 1, logit_bias {}, top_p 1.
    llm = OpenAI(base_url=f"{mixed}/v1", api_key="unused", model=model, max_tokens=6,
                 temperature=0, max_retries=0)
    text = llm.invoke("the quick brown fox")
    assert isinstance(text, str) and text
    assert "".join(llm.stream("the quick brown fox")) == text


def test_litellm_completion_stream_and_text_completion(mixed, model):
    args = {"model": f"openai/{model}", "api_base": f"{mixed}/v1", "api_key": "unused",
            "max_tokens": 8, "temperature": 0}
    whole = litellm.completion(messages=[{"role": "user", "content": QUESTION}], **args)
    content = whole.choices[0].message.content
    assert content
    streamed = "".join(c.choices[0].delta.content or "" for c in litellm.completion(
        messages=[{"role": "user", "content": QUESTION}], stream=True, **args))
    assert streamed == content
    text = litellm.text_completion(prompt="the quick brown fox", **args)
    assert text.choices[0].text


def test_tool_calls_whole_and_streamed_through_the_openai_sdk(tooling):
    client = openai.OpenAI(base_url=f"{tooling}/v1", api_key="unused", max_retries=0)
    messages = [{"role": "user", "content": "Weather in Paris?"}]
    r = client.chat.completions.create(model="agent", messages=messages, tools=[WEATHER_TOOL])
    choice = r.choices[0]
    assert choice.finish_reason == "tool_calls"
    assert choice.message.content == "Let me look."
    (call,) = choice.message.tool_calls
    assert call.function.name == "get_weather" and call.id
    assert json.loads(call.function.arguments) == {"city": "Paris", "unit": "celsius"}
    content, calls, finish = "", {}, None
    for chunk in client.chat.completions.create(model="agent", messages=messages,
                                                tools=[WEATHER_TOOL], stream=True):
        delta = chunk.choices[0].delta if chunk.choices else None
        if delta is None:
            continue
        content += delta.content or ""
        for tc in delta.tool_calls or []:
            entry = calls.setdefault(tc.index, {"name": "", "arguments": ""})
            entry["name"] += tc.function.name or ""
            entry["arguments"] += tc.function.arguments or ""
        finish = chunk.choices[0].finish_reason or finish
    assert content == "Let me look." and finish == "tool_calls"
    assert calls[0]["name"] == "get_weather"
    assert json.loads(calls[0]["arguments"]) == {"city": "Paris", "unit": "celsius"}
    # The conversation goes on with the call and its result, as agents send them.
    follow = client.chat.completions.create(model="agent", tools=[WEATHER_TOOL], messages=[
        *messages, choice.message.model_dump(exclude_none=True),
        {"role": "tool", "tool_call_id": call.id, "content": "18 °C"}])
    assert follow.choices[0].finish_reason == "tool_calls"


def test_langchain_tool_calling(tooling):
    llm = ChatOpenAI(base_url=f"{tooling}/v1", api_key="unused", model="agent", max_retries=0)
    reply = llm.bind_tools([WEATHER_TOOL]).invoke("Weather in Paris?")
    assert reply.tool_calls[0]["name"] == "get_weather"
    assert reply.tool_calls[0]["args"] == {"city": "Paris", "unit": "celsius"}


def test_tools_on_a_role_without_a_tool_parser_are_a_400(mixed):
    client = openai.OpenAI(base_url=f"{mixed}/v1", api_key="unused", max_retries=0)
    with pytest.raises(openai.BadRequestError) as err:
        client.chat.completions.create(model="reasoning", tools=[WEATHER_TOOL],
                                       messages=[{"role": "user", "content": "hi"}])
    assert err.value.body["param"] == "tools"
