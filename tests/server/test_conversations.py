"""Any number of roles of each kind, and conversations that go on side by side.

Five roles on tiny real models (two base, two reasoning; tests/apps.py five_roles) serve compare,
`/v1/models`, the OpenAI routes and the leaderboard; five scripted roles that record what they
are given (thread_roles) show that on turn 3 each role receives exactly its own thread; the SDK's
`Conversation` drives both, and regenerates one column with a new seed.
"""

from __future__ import annotations

import json

import httpx
import openai
import pytest

from clients import Client, Conversation
from serve.api.protocol import CompareResponse


def test_five_roles_of_three_kinds_serve_compare_models_openai_and_leaderboard(five_app):
    cards = httpx.get(f"{five_app}/v1/models").json()["data"]
    assert [(c["role"], c["kind"]) for c in cards] == [
        ("base", "base"), ("base-b", "base"), ("instruct", "instruct"),
        ("reasoning", "reasoning"), ("reasoning-off", "reasoning")]
    assert cards[2]["price"] == {"input_per_million": 0.5, "output_per_million": 2.0}
    assert cards[0]["price"] is None

    r = httpx.post(f"{five_app}/v1/compare", json={"prompt": "Hello there", "params": {
        "max_new_tokens": 8}}, timeout=120)
    assert r.status_code == 200, r.text
    result = CompareResponse.model_validate(r.json())
    assert [x.role for x in result.results] == [c["role"] for c in cards]  # every role, by default
    assert all(x.error is None and x.usage.completion_tokens > 0 for x in result.results)
    instruct = result.result("instruct")
    assert instruct.cost_usd == pytest.approx(
        (instruct.usage.prompt_tokens * 0.5 + instruct.usage.completion_tokens * 2.0) / 1e6)
    assert result.result("base").cost_usd is None
    assert result.result("reasoning").thinking  # the tiny Qwen3 thinks by default ...
    assert result.result("reasoning-off").thinking is None  # ... and not where the role says so
    # The raw continuation of a base kind: the prompt is continued as is, no chat template.
    assert result.result("base-b").usage.prompt_tokens < result.result("reasoning").usage.prompt_tokens

    oa = openai.OpenAI(base_url=f"{five_app}/v1", api_key="none", max_retries=0)
    chat = oa.chat.completions.create(model="reasoning-off", max_tokens=4,
                                      messages=[{"role": "user", "content": "hi"}])
    assert chat.model and chat.usage.completion_tokens <= 4
    assert not getattr(chat.choices[0].message, "reasoning_content", None)
    done = oa.completions.create(model="base-b", prompt="Once upon", max_tokens=4)
    assert done.usage.completion_tokens <= 4

    with Client(five_app, max_retries=0) as client:
        ack = client.vote(result, "winner", winner="base-b", prompt="Hello there")
        assert ack.id > 0
        board = client.leaderboard(by="role")
    names = {s.name for s in board.standings}
    assert {"base", "base-b", "instruct", "reasoning", "reasoning-off"} <= names


def _user_and_answers(messages: list[dict]) -> list[tuple[str, str]]:
    return [(m["role"], m["content"]) for m in messages]


def test_on_turn_three_each_role_receives_exactly_its_own_thread(threads_app):
    url, records = threads_app
    records.clear()
    with Client(url, max_retries=0) as client:
        chat = Conversation(client)
        for prompt in ("one", "two", "three"):
            turn = chat.send(prompt)
            assert all(r.error is None for r in turn.results)
    assert chat.roles == ["base", "base-b", "instruct", "reasoning", "reasoning-off"]
    thirds = {role: records(role)[2] for role in chat.roles}
    assert all(len(records(role)) == 3 for role in chat.roles)
    # A base role continues one document: its own continuations, turns a blank line apart.
    assert thirds["base"]["prompt"] == "one continued text.\n\ntwo continued text.\n\nthree"
    assert thirds["base-b"]["prompt"] == "one and more.\n\ntwo and more.\n\nthree"
    assert thirds["base"]["messages"] is None
    # A chat role: its system prompt, its own answers, this turn last.
    assert _user_and_answers(thirds["instruct"]["messages"]) == [
        ("system", "Be brief."), ("user", "one"), ("assistant", "I am instruct."),
        ("user", "two"), ("assistant", "I am instruct."), ("user", "three")]
    # A reasoning role: its answers without its thinking (Qwen3's card asks for that).
    assert _user_and_answers(thirds["reasoning"]["messages"]) == [
        ("user", "one"), ("assistant", "Reasoned answer."), ("user", "two"),
        ("assistant", "Reasoned answer."), ("user", "three")]
    assert "hmm" not in json.dumps(thirds["reasoning"])
    assert _user_and_answers(thirds["reasoning-off"]["messages"])[1] == ("assistant",
                                                                         "Quick answer.")
    assert chat.turns[0].answers["reasoning"].thinking.strip() == "hmm"  # it did think, then


def test_a_thread_with_thinking_left_in_is_sent_without_it(threads_app):
    url, records = threads_app
    records.clear()
    history = [{"role": "user", "content": "one"},
               {"role": "assistant", "content": "<think>secret</think>Answer.",
                "reasoning_content": "secret too"}]
    r = httpx.post(f"{url}/v1/compare", json={"prompt": "two", "roles": ["reasoning"],
                                              "history": {"reasoning": history}})
    assert r.status_code == 200, r.text
    (sent,) = records("reasoning")
    assert _user_and_answers(sent["messages"]) == [("user", "one"), ("assistant", "Answer."),
                                                    ("user", "two")]


@pytest.mark.parametrize("body, param", [
    ({"prompt": "x", "roles": ["instruct"], "history": {"base": []}}, "history"),
    ({"prompt": "x", "history": {"instruct": [{"role": "robot", "content": "x"}]}},
     "history.instruct.0.role"),
    ({"prompt": "x", "history": {"instruct": "not a list"}}, "history.instruct"),
])
def test_a_bad_history_is_a_400_naming_the_field(threads_app, body, param):
    url, _ = threads_app
    r = httpx.post(f"{url}/v1/compare", json=body)
    assert r.status_code == 400, r.text
    assert r.json()["error"]["param"] == param


def test_a_history_longer_than_a_role_accepts_is_a_400_not_a_crash(five_app):
    long = [{"role": "user", "content": "word " * 200}, {"role": "assistant", "content": "ok"}]
    r = httpx.post(f"{five_app}/v1/compare", json={"prompt": "and?", "roles": ["instruct"],
                                                   "history": {"instruct": long * 2}})
    assert r.status_code == 400 and r.json()["error"]["code"] == "context_length_exceeded"


def test_regenerate_replaces_one_column_and_a_vote_after_it_refers_to_the_new_answer(five_app):
    with Client(five_app, max_retries=0) as client:
        chat = Conversation(client, ["base", "instruct"],
                            params={"temperature": 1.0, "max_new_tokens": 12, "seed": 1})
        first = chat.send("Tell me a story")
        before = first.result("instruct").content
        base_before = first.result("base").content
        again = chat.regenerate("instruct", seed=2)
        assert [r.role for r in again.results] == ["instruct"]
        after = chat.turns[0].answers["instruct"].content
        assert after == again.result("instruct").content and after != before
        assert chat.turns[0].answers["base"].content == base_before  # the other column stays
        assert chat.turns[0].id == again.id != first.id
        ack = chat.vote("winner", winner="instruct")
        # A second turn: the regenerated answer is the instruct role's history now.
        second = chat.send("Go on")
        assert second.result("instruct").usage.prompt_tokens > \
            first.result("instruct").usage.prompt_tokens
        chat.vote("tie")
        stored = {v.comparison_id: v for v in client.votes()}
    vote = stored[again.id]
    assert vote.id == ack.id and vote.turn == 1 and vote.conversation_id == chat.id
    assert {a.role: a.content for a in vote.answers} == {"base": base_before, "instruct": after}
    assert first.id not in stored  # nothing was voted on the replaced answer
    later = stored[second.id]
    assert later.turn == 2
    thread = {a.role: [m.content for m in a.history] for a in later.answers}
    assert thread["instruct"] == ["Tell me a story", after]
