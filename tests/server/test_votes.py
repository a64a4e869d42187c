"""The arena's routes over HTTP: vote, replace, export as JSONL, leaderboard, errors, keys.

One app with three scripted roles (distinct model ids), API keys on (the env var that
tests/conftest.py sets before Ray starts), and its votes in a temporary SQLite file.
"""

from __future__ import annotations

import json

import httpx
import pytest
from serving import deploy

from apps import scripted_role
from serve.api.votes import VoteRecord

KEY = "sk-env-key-never-logged-42"
AUTH = {"authorization": f"Bearer {KEY}"}
ROLES = ("base", "instruct", "reasoning")


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def arena(request, serve_instance, tmp_path_factory):
    """The arena's app on SQLite (a file: yielded as its path) and on a real PostgreSQL server
    (tests/postgres.py; yielded with None): every test here runs on both."""
    options = {}
    if request.param == "sqlite":
        db = tmp_path_factory.mktemp("votes") / "state" / "votes.db"
        votes = {"database_url": f"sqlite:///{db}"}
    else:  # the URL from the store's environment, as a RayService passes a Secret
        db, votes = None, {"database_url_env": "TRISERVE_TEST_VOTES_URL"}
        env = {"TRISERVE_TEST_VOTES_URL": request.getfixturevalue("postgres_url")}
        options = {"VoteStore": {"ray_actor_options": {"num_cpus": 0.1,
                                                       "runtime_env": {"env_vars": env}}}}
    roles = {r: {**scripted_role(tokens=[f"{r} says hi"]), "served_model_name": f"m-{r}"}
             for r in ROLES}
    args = {"roles": roles, "ingress": {"api_keys_env": "TRISERVE_TEST_KEYS"},
            "votes": {**votes, "bootstrap_samples": 200}}
    url = deploy("arena", args, serve_instance, options)
    yield url, db
    from ray import serve
    serve.delete("arena")


def ballot(cid: str, verdict: str = "winner", winner: str | None = "reasoning", **extra) -> dict:
    # Turn 2 of a conversation: each answer with its role's own first turn.
    answers = [{"role": r, "model": f"m-{r}", "content": f"{r} says hi",
                "thinking": "hm" if r == "reasoning" else None,
                "history": [{"role": "user", "content": "hi", "name": None, "tool_calls": None,
                             "tool_call_id": None, "reasoning_content": None, "refusal": None},
                            {"role": "assistant", "content": f"{r} said hello", "name": None,
                             "tool_calls": None, "tool_call_id": None, "reasoning_content": None,
                             "refusal": None}]} for r in ROLES]
    if verdict != "winner":
        winner = None
    return {"comparison_id": cid, "prompt": "9.11和9.8哪个更大？", "system": "be brief",
            "params": {"max_new_tokens": 64, "temperature": 0.0}, "answers": answers,
            "shown_order": ["instruct", "reasoning", "base"], "blind": True,
            "conversation_id": f"conv-{cid}", "turn": 2, "category": "decimal-compare",
            "session_id": "s-test",
            "verdict": verdict, "winner": winner, **extra}


def post(url, body, headers=AUTH):
    return httpx.post(f"{url}/v1/votes", json=body, headers=headers, timeout=30)


def export(url) -> list[VoteRecord]:
    r = httpx.get(f"{url}/v1/votes", headers=AUTH, timeout=30)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("application/x-ndjson")
    return [VoteRecord.model_validate_json(line) for line in r.text.splitlines()]


def test_a_vote_is_acknowledged_and_a_second_vote_replaces_it(arena):
    url, db = arena
    first = post(url, ballot("cmp-replace"))
    assert first.status_code == 200, first.text
    ack = first.json()
    assert ack["comparison_id"] == "cmp-replace" and ack["replaced"] is False
    second = post(url, ballot("cmp-replace", verdict="all_bad"))
    assert second.status_code == 200
    assert second.json() == {**ack, "replaced": True}  # the same row
    (stored,) = [v for v in export(url) if v.comparison_id == "cmp-replace"]
    assert stored.verdict == "all_bad" and stored.winner is None and stored.id == ack["id"]
    assert db is None or db.exists()  # SQLite: the configured file, nothing under home


def test_export_round_trips_every_field_oldest_first(arena):
    url, _ = arena
    sent = [ballot(f"cmp-export-{i}", verdict=v) for i, v in enumerate(["winner", "tie"])]
    for body in sent:
        assert post(url, body).status_code == 200
    records = export(url)
    assert [r.id for r in records] == sorted(r.id for r in records)
    got = {r.comparison_id: r for r in records}
    for body in sent:
        record = got[body["comparison_id"]]
        assert record.model_dump(mode="json", exclude={
            "id", "created_at", "messages", "flagged", "flag_reason"}) == body
        assert (record.flagged, record.flag_reason) == (False, None)
        assert record.created_at > 1.7e9


def test_leaderboard_by_model_and_by_role_with_intervals(arena):
    url, _ = arena
    for i in range(12):
        assert post(url, ballot(f"cmp-board-{i}", winner="reasoning" if i % 4 else "instruct")
                    ).status_code == 200
    assert post(url, ballot("cmp-board-tie", verdict="tie")).status_code == 200
    for by, names in (("model", [f"m-{r}" for r in ROLES]), ("role", list(ROLES))):
        r = httpx.get(f"{url}/v1/leaderboard", params={"by": by}, headers=AUTH, timeout=60)
        assert r.status_code == 200, r.text
        board = r.json()
        assert board["by"] == by and board["method"] == "bradley-terry"
        assert board["bootstrap_samples"] == 200 and board["votes"] >= 13
        standings = board["standings"]
        assert sorted(s["name"] for s in standings) == sorted(names)
        assert standings[0]["name"] == names[2]  # reasoning won most
        assert standings[0]["rank"] == 1
        for s in standings:
            assert s["ci_low"] <= s["strength"] <= s["ci_high"]
        mean = sum(s["strength"] for s in standings) / len(standings)
        assert mean == pytest.approx(1000, abs=0.1)


def test_leaderboard_style_control_by_default_plain_on_ask_and_one_category_alone(arena):
    url, _ = arena
    for i in range(4):
        body = ballot(f"cmp-cat-{i}", winner="base", category="only-here")
        assert post(url, body).status_code == 200

    def board(**params):
        r = httpx.get(f"{url}/v1/leaderboard", params={"by": "role", **params}, headers=AUTH,
                      timeout=60)
        assert r.status_code == 200, r.text
        return r.json()

    styled = board()
    assert styled["style_control"] is True and styled["raw_standings"]
    assert [c["feature"] for c in styled["style_coefficients"]] == [
        "length", "headers", "lists", "bold"]
    plain = board(style="false")
    assert plain["style_control"] is False and plain["raw_standings"] is None
    assert plain["standings"] == styled["raw_standings"]
    alone = board(category="only-here")
    assert alone["votes"] == 4 and alone["category"] == "only-here"
    assert alone["standings"][0]["name"] == "base"
    assert board(category="nothing-here")["votes"] == 0


@pytest.mark.parametrize("change,param", [
    ({"verdict": "best"}, "verdict"),
    ({"answers": []}, "answers"),
    ({"comparison_id": ""}, "comparison_id"),
    ({"colour": "red"}, "colour"),
])
def test_a_bad_vote_is_a_400_naming_the_field(arena, change, param):
    url, _ = arena
    r = post(url, {**ballot("cmp-bad"), **change})
    assert r.status_code == 400, r.text
    err = r.json()["error"]
    assert err["type"] == "invalid_request_error" and err["param"] == param


def test_an_inconsistent_vote_is_a_400_that_says_why(arena):
    url, _ = arena
    r = post(url, ballot("cmp-bad", winner="nobody"))
    assert r.status_code == 400
    assert "not one of the answers' roles" in r.json()["error"]["message"]
    r = httpx.get(f"{url}/v1/leaderboard", params={"by": "nope"}, headers=AUTH, timeout=30)
    assert r.status_code == 400 and "by" in r.json()["error"]["param"]


@pytest.mark.parametrize("method,path", [("POST", "/v1/votes"), ("GET", "/v1/votes"),
                                         ("GET", "/v1/leaderboard")])
def test_the_arena_routes_need_a_key(arena, method, path):
    url, _ = arena
    body = ballot("cmp-nokey") if method == "POST" else None
    r = httpx.request(method, url + path, json=body, timeout=30)
    assert r.status_code == 401 and r.json()["error"]["code"] == "invalid_api_key"
    assert "cmp-nokey" not in json.dumps([v.comparison_id for v in export(url)])


def test_a_vote_whose_answer_names_a_model_is_flagged_and_left_out_by_default(arena):
    url, _ = arena

    def board(**params):
        return httpx.get(f"{url}/v1/leaderboard", params={"by": "role", **params},
                         headers=AUTH, timeout=60).json()

    before = board()["votes"]
    body = ballot("cmp-leak", winner="instruct")
    body["answers"][1]["content"] = "As m-instruct, I think 9.8 is larger."
    r = post(url, body)
    assert r.status_code == 200 and r.json()["flagged"] is True
    (stored,) = [v for v in export(url) if v.comparison_id == "cmp-leak"]
    assert stored.flagged and stored.flag_reason == "the instruct answer names 'm-instruct'"
    assert board()["votes"] == before  # left out of the standings ...
    assert board(include_flagged="true")["votes"] == before + 1  # ... unless asked
    maker = ballot("cmp-maker")
    maker["answers"][0]["content"] = "I was trained by alibaba cloud."
    assert post(url, maker).json()["flagged"] is True
    assert post(url, ballot("cmp-clean")).json()["flagged"] is False
