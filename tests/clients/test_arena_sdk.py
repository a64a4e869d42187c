"""The SDK's arena calls (`vote`, `votes`, `leaderboard`), sync and async, against a deployed app
with scripted roles and a temporary votes database."""

from __future__ import annotations

import asyncio

import pytest
from pydantic import ValidationError

from clients import AsyncClient, Client
from clients.errors import BadRequestError
from serve.api.votes import VoteRecord

ROLES = ("base", "instruct", "reasoning")


def deploy_arena(name: str, serve_instance, tmp_path_factory) -> str:
    """Three scripted roles serving m-base, m-instruct, m-reasoning, with their votes in a
    temporary SQLite file (100 bootstrap samples), at /<name>."""
    from apps import scripted_role
    from serving import deploy

    db = tmp_path_factory.mktemp(name) / "votes.db"
    roles = {r: {**scripted_role(tokens=[f"{r} answer"]), "served_model_name": f"m-{r}"}
             for r in ROLES}
    return deploy(name, {"roles": roles, "votes": {"database_url": f"sqlite:///{db}",
                                                   "bootstrap_samples": 100}}, serve_instance)


@pytest.fixture(scope="module")
def arena_sdk(serve_instance, tmp_path_factory):
    from ray import serve

    yield deploy_arena("arenasdk", serve_instance, tmp_path_factory)
    serve.delete("arenasdk")


def test_vote_on_a_comparison_change_it_export_and_rank(arena_sdk):
    with Client(arena_sdk) as client:
        result = client.compare("Hi", system="be brief", params={"max_new_tokens": 8})
        ack = client.vote(result, "winner", winner="reasoning", prompt="Hi", system="be brief",
                          params={"max_new_tokens": 8}, blind=True,
                          shown_order=["reasoning", "base", "instruct"])
        assert ack.comparison_id == result.id and not ack.replaced
        again = client.vote(result, "tie", prompt="Hi")
        assert again.replaced and again.id == ack.id
        (record,) = [r for r in client.votes() if r.comparison_id == result.id]
        assert isinstance(record, VoteRecord) and record.verdict == "tie"
        assert {a.role: a.model for a in record.answers} == {r: f"m-{r}" for r in ROLES}
        assert record.answers[0].content == result.results[0].content
        for i in range(4):
            client.vote(f"by-id-{i}", "winner", winner="instruct",
                        answers=[{"role": a.role, "model": a.model, "content": a.content}
                                 for a in record.answers])
        board = client.leaderboard(by="role")
        assert board.by == "role" and board.standings[0].name == "instruct"
        assert client.leaderboard().standings[0].name == "m-instruct"


def test_a_bad_vote_is_refused_before_or_by_the_server(arena_sdk):
    with Client(arena_sdk, max_retries=0) as client:
        with pytest.raises(ValidationError):  # built from the wire model: checked here first
            client.vote("x", "winner", winner="nobody",
                        answers=[{"role": "a", "model": "m"}, {"role": "b", "model": "m"}])
        with pytest.raises(ValueError):
            client.vote("x", "tie")  # an id alone says nothing about the answers
        with pytest.raises(BadRequestError) as err:
            client.leaderboard(by="nope")  # type: ignore[arg-type]
        assert "by" in err.value.param


def test_the_async_client_is_the_twin(arena_sdk):
    async def go():
        async with AsyncClient(arena_sdk) as client:
            result = await client.compare("Hello", roles=["base", "instruct"])
            ack = await client.vote(result, "all_bad", prompt="Hello")
            assert ack.comparison_id == result.id and not ack.replaced
            records = [r async for r in client.votes()]
            assert any(r.comparison_id == result.id and r.verdict == "all_bad" for r in records)
            assert [r.id for r in records] == sorted(r.id for r in records)
            board = await client.leaderboard(by="model")
            assert board.votes >= 1 and all(s.ci_low <= s.strength <= s.ci_high
                                            for s in board.standings)

    asyncio.run(go())
