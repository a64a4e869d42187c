"""Every documented OpenAI request field through the openai SDK, on a role of each engine: `base`
runs our loop (hf), `instruct` runs vLLM (the `mixed` app, tests/server/conftest.py). Each field
is served with the right content, not refused; what a model cannot take is a 400 naming it."""

from __future__ import annotations

import json

import openai
import pytest

from tooling_checks import SCHEMA, WEATHER_TOOL

ENGINES = ["base", "instruct"]  # hf, vllm
USER = [{"role": "user", "content": "Which is larger, 9.11 or 9.8?"}]


@pytest.fixture(scope="module")
def client(mixed):
    return openai.OpenAI(base_url=f"{mixed}/v1", api_key="unused", max_retries=0, timeout=120)


def chat(client, model, messages=USER, **kw):
    kw.setdefault("max_tokens", 8)
    return client.chat.completions.create(model=model, messages=messages, **kw)


@pytest.fixture(params=ENGINES)
def model(request):
    return request.param


def test_penalties_at_zero_are_served_and_change_nothing(client, model):
    plain = chat(client, model)
    zero = chat(client, model, presence_penalty=0, frequency_penalty=0)
    assert zero.choices[0].message.content == plain.choices[0].message.content
    pushed = chat(client, model, max_tokens=24, frequency_penalty=2.0, presence_penalty=1.5)
    assert pushed.choices[0].finish_reason in ("stop", "length")


def test_content_as_text_parts_answers_as_the_string(client, model):
    system = "You are terse."
    as_strings = chat(client, model, messages=[
        {"role": "system", "content": system}, *USER,
        {"role": "assistant", "content": "9.8"}, {"role": "user", "content": "Why?"}])
    as_parts = chat(client, model, messages=[
        {"role": "system", "content": [{"type": "text", "text": system}]},
        {"role": "user", "content": [{"type": "text", "text": USER[0]["content"]}]},
        {"role": "assistant", "content": [{"type": "text", "text": "9.8"}]},
        {"role": "user", "content": [{"type": "text", "text": "Why?"}]}])
    assert as_parts.choices[0].message.content == as_strings.choices[0].message.content
    assert as_parts.usage.prompt_tokens == as_strings.usage.prompt_tokens


def test_developer_message_is_the_system_message_and_names_are_taken(client, model):
    system = chat(client, model, messages=[{"role": "system", "content": "Be brief."}, *USER])
    developer = chat(client, model, messages=[
        {"role": "developer", "content": "Be brief."}, {**USER[0], "name": "ada"}])
    assert developer.choices[0].message.content == system.choices[0].message.content


def test_logprobs(client, model):
    r = chat(client, model, logprobs=True, top_logprobs=2, max_tokens=5)
    content = r.choices[0].logprobs.content
    assert len(content) == r.usage.completion_tokens or r.choices[0].finish_reason == "stop"
    # The answer's text, special tokens (kept in logprobs, as vLLM keeps them) aside.
    assert r.choices[0].message.content in "".join(t.token for t in content)
    for t in content:
        assert t.logprob <= 0 and len(t.top_logprobs) == 2
        assert t.top_logprobs[0].token == t.token  # greedy: the chosen token is the likeliest
        assert t.bytes == list(t.token.encode())
    off = chat(client, model, logprobs=False)
    assert off.choices[0].logprobs is None


def test_streamed_logprobs_match_whole(client, model):
    whole = chat(client, model, logprobs=True, top_logprobs=1, max_tokens=5)
    streamed = [t for c in chat(client, model, logprobs=True, top_logprobs=1, max_tokens=5,
                                stream=True)
                if c.choices and c.choices[0].logprobs for t in c.choices[0].logprobs.content]
    assert [(t.token, round(t.logprob, 4)) for t in streamed] == [
        (t.token, round(t.logprob, 4)) for t in whole.choices[0].logprobs.content]


def test_response_formats(client, model):
    text = chat(client, model, response_format={"type": "text"})
    assert text.choices[0].message.content == chat(client, model).choices[0].message.content
    obj = chat(client, model, response_format={"type": "json_object"}, max_tokens=12)
    assert obj.choices[0].message.content.startswith("{")
    schema = chat(client, model, max_tokens=40, response_format={
        "type": "json_schema", "json_schema": {"name": "verdict", "schema": SCHEMA, "strict": True}})
    value = json.loads(schema.choices[0].message.content)
    assert isinstance(value["answer"], bool) and value["size"] in ("small", "large")


def test_tools_are_rendered_for_the_model(client, model):
    plain = chat(client, model)
    with_tools = chat(client, model, tools=[WEATHER_TOOL], tool_choice="auto",
                      parallel_tool_calls=False)
    assert with_tools.usage.prompt_tokens > plain.usage.prompt_tokens  # the template wrote them
    none = chat(client, model, tools=[WEATHER_TOOL], tool_choice="none")
    assert none.usage.prompt_tokens == plain.usage.prompt_tokens


def test_n_choices_each_with_its_own_stream(client, model):
    r = chat(client, model, n=3, temperature=1.0, seed=11, max_tokens=8)
    assert [c.index for c in r.choices] == [0, 1, 2]
    texts = [c.message.content for c in r.choices]
    assert len(set(texts)) > 1, "each choice samples with its own seed"
    again = chat(client, model, n=3, temperature=1.0, seed=11, max_tokens=8)
    assert [c.message.content for c in again.choices] == texts
    streamed: dict[int, str] = {}
    finishes = {}
    for c in chat(client, model, n=3, temperature=1.0, seed=11, max_tokens=8, stream=True):
        for choice in c.choices:
            streamed[choice.index] = streamed.get(choice.index, "") + (choice.delta.content or "")
            if choice.finish_reason:
                finishes[choice.index] = choice.finish_reason
    assert [streamed[i] for i in range(3)] == texts and set(finishes) == {0, 1, 2}


def test_sampling_fields_and_ignored_ones(client, model):
    r = chat(client, model, stop=["\n", "。"], seed=5, temperature=0.7, top_p=0.9,
             max_completion_tokens=6, logit_bias={"5": -100}, user="u-1",
             metadata={"k": "v"}, store=False, service_tier="auto")
    assert r.usage.completion_tokens <= 6
    extras = chat(client, model, max_tokens=10, extra_body={
        "top_k": 5, "min_p": 0.05, "repetition_penalty": 1.2, "min_tokens": 4, "ignore_eos": True,
        "include_stop_str_in_output": False, "chat_template_kwargs": {"enable_thinking": False}})
    assert extras.usage.completion_tokens == 10  # ignore_eos: to the length


def test_completions_prompt_lists_token_ids_and_echo(client, model):
    two = client.completions.create(model=model, prompt=["the quick", "apples"], max_tokens=4)
    assert [c.index for c in two.choices] == [0, 1]
    singles = [client.completions.create(model=model, prompt=p, max_tokens=4).choices[0].text
               for p in ("the quick", "apples")]
    assert [c.text for c in two.choices] == singles
    ids = client.completions.create(model=model, prompt=[5, 17, 42], max_tokens=4)
    assert ids.usage.prompt_tokens == 3 and ids.choices[0].finish_reason
    batch_ids = client.completions.create(model=model, prompt=[[5, 17], [42]], max_tokens=3, n=2)
    assert [c.index for c in batch_ids.choices] == [0, 1, 2, 3]
    echo = client.completions.create(model=model, prompt="the quick", max_tokens=4, echo=True)
    assert echo.choices[0].text == "the quick" + singles[0]
    lp = client.completions.create(model=model, prompt="the quick", max_tokens=4, logprobs=2)
    assert len(lp.choices[0].logprobs.tokens) == len(lp.choices[0].logprobs.top_logprobs)
    assert all(len(t) <= 2 for t in lp.choices[0].logprobs.top_logprobs)


@pytest.mark.parametrize("content, where", [
    ([{"type": "image_url", "image_url": {"url": "data:image/png;base64,AA=="}}], "content[0]"),
    ([{"type": "text", "text": "hi"}, {"type": "input_audio", "input_audio": {"data": "AA=="}}],
     "content[1]"),
])
def test_image_and_audio_parts_are_a_400_naming_the_part(client, content, where):
    with pytest.raises(openai.BadRequestError) as err:
        chat(client, "base", messages=[{"role": "user", "content": content}])
    body = err.value.body
    assert body["param"] == "messages.0.content" and where in body["message"]


def test_an_undocumented_field_is_a_400_naming_it(client):
    with pytest.raises(openai.BadRequestError) as err:
        chat(client, "base", extra_body={"frobnicate": 1})
    assert err.value.body["param"] == "frobnicate"


def test_out_of_vocabulary_ids_and_caps_are_400s(client):
    with pytest.raises(openai.BadRequestError) as err:
        chat(client, "base", logit_bias={"999999": 5})
    assert err.value.body["param"] == "logit_bias"
    with pytest.raises(openai.BadRequestError) as err:
        client.completions.create(model="instruct", prompt=[10**8], max_tokens=2)
    assert err.value.body["param"] == "prompt"
    with pytest.raises(openai.BadRequestError) as err:
        chat(client, "base", n=5)
    assert err.value.body["param"] == "n"


@pytest.mark.parametrize("path, body, param", [
    ("/v1/chat/completions", {"tool_choice": "sometimes"}, "tool_choice"),
    ("/v1/chat/completions", {"tool_choice": {"type": "function"}}, "tool_choice"),
    ("/v1/chat/completions", {"stop": 5}, "stop"),
    ("/v1/completions", {"prompt": ["a", [1]]}, "prompt"),
])
def test_a_400_names_the_field_not_a_union_member(mixed, path, body, param):
    import httpx

    base = {"model": "base", "messages": [{"role": "user", "content": "hi"}]} if "chat" in path \
        else {"model": "base"}
    r = httpx.post(f"{mixed}{path}", json={**base, **body}, timeout=30)
    assert r.status_code == 400 and r.json()["error"]["param"] == param, r.text
