"""`POST /v1/responses` through the openai SDK's `client.responses.create`, whole and streamed, on
a reasoning role of each engine (tiny_app: hf; mixed: vLLM), with the thinking budget that
`reasoning.effort` (and chat's `reasoning_effort`) selects."""

from __future__ import annotations

import json

import openai
import pytest

from tooling_checks import SCHEMA

QUESTION = "Which is larger, 9.11 or 9.8?"


@pytest.fixture(params=["hf", "vllm"])
def client(request, tiny_app, mixed):
    url = tiny_app if request.param == "hf" else mixed
    return openai.OpenAI(base_url=f"{url}/v1", api_key="unused", max_retries=0, timeout=120)


def create(client, **kw):
    kw.setdefault("max_output_tokens", 24)
    return client.responses.create(model="reasoning", input=QUESTION, **kw)


def test_reasoning_is_its_own_item_and_the_budget_holds(client):
    r = create(client, reasoning={"effort": "low"})  # 4 tokens of thinking in the tiny roles
    kinds = [item.type for item in r.output]
    assert kinds == ["reasoning", "message"] and r.object == "response"
    assert r.output[0].content[0].text and r.output_text
    assert r.usage.output_tokens_details.reasoning_tokens == 4 + 1  # the budget and </think>
    assert r.usage.total_tokens == r.usage.input_tokens + r.usage.output_tokens
    assert r.status in ("completed", "incomplete")


def test_streamed_events_follow_the_documented_sequence_and_equal_whole(client):
    whole = create(client, reasoning={"effort": "low"})
    events = list(create(client, reasoning={"effort": "low"}, stream=True))
    types = [e.type for e in events]
    assert types[:3] == ["response.created", "response.in_progress", "response.output_item.added"]
    assert types[-1] in ("response.completed", "response.incomplete")
    assert [e.sequence_number for e in events] == list(range(len(events)))
    for needed in ("response.reasoning_text.delta", "response.reasoning_text.done",
                   "response.content_part.added", "response.output_text.done",
                   "response.output_item.done"):
        assert needed in types
    thinking = "".join(e.delta for e in events if e.type == "response.reasoning_text.delta")
    text = "".join(e.delta for e in events if e.type == "response.output_text.delta")
    assert thinking.strip() == whole.output[0].content[0].text and text == whole.output_text
    assert events[-1].response.output_text == whole.output_text


def test_minimal_effort_is_no_thinking_and_messages_instructions_and_formats(client):
    r = client.responses.create(
        model="reasoning", max_output_tokens=40, reasoning={"effort": "minimal"},
        instructions="Answer in JSON.",
        input=[{"role": "user", "content": [{"type": "input_text", "text": QUESTION}]}],
        text={"format": {"type": "json_schema", "name": "verdict", "schema": SCHEMA,
                         "strict": True}})
    assert [item.type for item in r.output] == ["message"]
    assert r.usage.output_tokens_details.reasoning_tokens == 0
    value = json.loads(r.output_text)
    assert isinstance(value["answer"], bool)


def test_cut_by_max_output_tokens_is_incomplete(client):
    r = create(client, max_output_tokens=6)  # thinks past 6 tokens: no answer
    assert r.status == "incomplete" and r.incomplete_details.reason == "max_output_tokens"


@pytest.mark.parametrize("field, value", [("store", True), ("previous_response_id", "resp_1"),
                                          ("tools", [{"type": "web_search"}])])
def test_what_is_not_kept_or_served_is_refused_by_name(client, field, value):
    with pytest.raises(openai.BadRequestError) as err:
        create(client, extra_body={field: value})
    assert err.value.body["param"] == field


def test_reasoning_effort_and_thinking_token_budget_on_chat(client):
    messages = [{"role": "user", "content": QUESTION}]
    low = client.chat.completions.create(model="reasoning", messages=messages, max_tokens=24,
                                         reasoning_effort="low")
    assert low.usage.completion_tokens_details.reasoning_tokens == 4 + 1
    budget = client.chat.completions.create(model="reasoning", messages=messages, max_tokens=24,
                                            extra_body={"thinking_token_budget": 6})
    assert budget.usage.completion_tokens_details.reasoning_tokens == 6 + 1
    assert budget.choices[0].message.reasoning_content
