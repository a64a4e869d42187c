"""The official openai package against the OpenAI-compatible routes, streaming and not."""

from __future__ import annotations

import openai
import pytest


@pytest.fixture(scope="module")
def client(tiny_app):
    return openai.OpenAI(base_url=f"{tiny_app}/v1", api_key="unused", max_retries=0, timeout=60)


MESSAGES = [{"role": "user", "content": "9.11和9.8哪个更大？"}]


def test_chat_completion(client):
    r = client.chat.completions.create(model="instruct", messages=MESSAGES, max_tokens=8)
    choice = r.choices[0]
    assert r.object == "chat.completion" and r.model == "instruct"
    assert choice.message.role == "assistant" and choice.message.content
    assert choice.finish_reason in ("stop", "length")
    assert r.usage.completion_tokens <= 8 and r.usage.prompt_tokens > 0


def test_chat_completion_by_served_model_id(client):
    r = client.chat.completions.create(model="tiny-qwen3", messages=MESSAGES, max_tokens=4)
    assert r.choices[0].message.model_extra["reasoning_content"]


def test_reasoning_role_returns_thinking_apart(client):
    r = client.chat.completions.create(model="reasoning", messages=MESSAGES, max_tokens=8)
    message = r.choices[0].message
    assert message.model_extra["reasoning_content"] == message.model_extra["reasoning"]
    assert message.model_extra["reasoning_content"]
    assert r.usage.completion_tokens_details.reasoning_tokens == r.usage.completion_tokens


def test_thinking_off_through_chat_template_kwargs(client):
    r = client.chat.completions.create(
        model="reasoning", messages=MESSAGES, max_tokens=8,
        extra_body={"chat_template_kwargs": {"enable_thinking": False}},
    )
    assert r.choices[0].message.model_extra.get("reasoning_content") is None
    assert r.choices[0].message.content


def test_streamed_chat_matches_the_whole_and_reports_usage(client):
    whole = client.chat.completions.create(model="reasoning", messages=MESSAGES, max_tokens=10)
    stream = client.chat.completions.create(
        model="reasoning", messages=MESSAGES, max_tokens=10, stream=True,
        stream_options={"include_usage": True},
    )
    thinking, content, finish, usage = "", "", None, None
    with stream:
        for chunk in stream:
            if chunk.usage:
                usage = chunk.usage
            for choice in chunk.choices:
                thinking += (choice.delta.model_extra or {}).get("reasoning_content") or ""
                content += choice.delta.content or ""
                finish = choice.finish_reason or finish
    message = whole.choices[0].message
    assert thinking.strip() == message.model_extra["reasoning_content"]
    assert content == message.content
    assert finish == whole.choices[0].finish_reason
    assert usage.completion_tokens == whole.usage.completion_tokens


def test_completion(client):
    r = client.completions.create(model="base", prompt="The quick brown fox", max_tokens=6)
    assert r.object == "text_completion" and r.choices[0].text
    assert r.usage.completion_tokens <= 6


def test_streamed_completion_matches_the_whole(client):
    whole = client.completions.create(model="base", prompt="苹果、香蕉", max_tokens=8)
    text = "".join(c.choices[0].text for c in client.completions.create(
        model="base", prompt="苹果、香蕉", max_tokens=8, stream=True) if c.choices)
    assert text == whole.choices[0].text


def test_models_list(client):
    assert [m.id for m in client.models.list()] == ["base", "instruct", "reasoning"]


@pytest.mark.parametrize("model, role", [("base", "base"), ("instruct", "instruct"),
                                         ("reasoning", "reasoning"), ("tiny-qwen3", "reasoning"),
                                         ("tiny-qwen2", "base")])
def test_models_retrieve_every_listed_id_and_served_model(client, model, role):
    card = client.models.retrieve(model)
    assert card.id == model and card.object == "model" and card.model_extra["role"] == role


@pytest.mark.parametrize("model", ["gpt-4", "Qwen/Qwen3-4B"])
def test_models_retrieve_an_unknown_one_is_a_404_model_not_found(client, model):
    with pytest.raises(openai.NotFoundError) as err:
        client.models.retrieve(model)
    assert err.value.code == "model_not_found" and err.value.body["param"] == "model"
    assert model in err.value.body["message"]
    assert err.value.response.headers["x-should-retry"] == "false"


def test_errors_map_to_openai_exceptions(client):
    with pytest.raises(openai.NotFoundError) as err:
        client.chat.completions.create(model="gpt-4", messages=MESSAGES)
    assert err.value.body["param"] == "model"
    with pytest.raises(openai.BadRequestError) as err:
        client.chat.completions.create(model="base", messages=MESSAGES, temperature=-1)
    assert err.value.body["param"] == "temperature"
    with pytest.raises(openai.BadRequestError):
        client.chat.completions.create(model="base", messages=MESSAGES, max_tokens=1_000_000)
