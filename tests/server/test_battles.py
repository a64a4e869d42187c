"""Anonymous battles: k roles drawn by weight (serve/votes/battles.py), answers shown under
letters with no name until the vote, which the store resolves and the ack reveals."""

from __future__ import annotations

import itertools
import random

import httpx
import pytest

from clients import Client
from serve.votes import battles

WEIGHTS = {"a": 1.0, "b": 1.0, "c": 1.0, "d": 1.0, "e": 4.0}
# The chi-square distribution's 99.9th percentile at 9 degrees of freedom (10 pairs - 1).
CHI2_9_999 = 27.877


def test_pair_frequencies_over_2000_seeded_battles_match_the_weights():
    rng = random.Random(20261206)
    counts = {frozenset(p): 0 for p in itertools.combinations(WEIGHTS, 2)}
    sides = {"e": 0}
    for _ in range(2000):
        first, second = battles.pick(WEIGHTS, 2, rng)
        counts[frozenset((first, second))] += 1
        sides["e"] += first == "e"
    expected = {p: 2000 * battles.pair_probability(WEIGHTS, *sorted(p)) for p in counts}
    assert sum(expected.values()) == pytest.approx(2000)
    chi2 = sum((counts[p] - expected[p]) ** 2 / expected[p] for p in counts)
    assert chi2 < CHI2_9_999, (chi2, counts)
    # The heavy role is in most battles: 1 - P(neither draw is e) = 1 - 4/8 * 3/7 = 0.786 ...
    with_e = sum(n for p, n in counts.items() if "e" in p)
    assert with_e / 2000 == pytest.approx(1 - 4 / 8 * 3 / 7, abs=0.03)
    # ... and on either side: the first draw is e with chance 4/8.
    assert sides["e"] / 2000 == pytest.approx(0.5, abs=0.04)


def test_a_role_of_weight_zero_is_never_drawn_and_too_few_roles_is_an_error():
    rng = random.Random(1)
    weights = {"a": 1.0, "b": 0.0, "c": 2.0}
    assert all("b" not in battles.pick(weights, 2, rng) for _ in range(200))
    with pytest.raises(ValueError, match="needs 3 roles"):
        battles.pick(weights, 3, rng)


def test_a_battle_shows_letters_only_and_the_vote_reveals_and_stores_the_roles(five_app):
    r = httpx.post(f"{five_app}/v1/compare", json={"prompt": "Hello", "battle": 2,
                                                   "params": {"max_new_tokens": 4}}, timeout=120)
    assert r.status_code == 200, r.text
    assert "tiny-qwen" not in r.text  # no model id in anything the client gets
    body = r.json()
    assert [x["role"] for x in body["results"]] == ["A", "B"]
    assert all(x["model"] == "" for x in body["results"])
    answers = [{"role": x["role"], "model": "", "content": x["content"]} for x in body["results"]]
    with Client(five_app, max_retries=0) as client:
        ack = client.vote(body["id"], "winner", winner="B", answers=answers, shown_order=["A", "B"])
        assert set(ack.revealed) == {"A", "B"}
        roles = [ack.revealed[x]["role"] for x in ("A", "B")]
        assert ack.revealed["A"]["model"].startswith("tiny-")
        (stored,) = [v for v in client.votes() if v.comparison_id == body["id"]]
    assert stored.blind and stored.shown_order == roles and stored.winner == roles[1]
    assert [a.role for a in stored.answers] == roles


def test_a_battle_streams_letters_only(five_app):
    with Client(five_app, max_retries=0) as client:
        with client.compare_stream("Hi", battle=3, params={"max_new_tokens": 3}) as events:
            seen = list(events)
    assert {e.role for e in seen} == {"A", "B", "C"}
    assert all(e.result.model == "" for e in seen if e.type == "result")


@pytest.mark.parametrize("extra", [{"roles": ["base"]}, {"history": {"base": []}},
                                   {"overrides": {"base": {"max_new_tokens": 2}}}])
def test_a_battle_draws_its_own_roles_so_naming_them_is_a_400(five_app, extra):
    r = httpx.post(f"{five_app}/v1/compare", json={"prompt": "Hi", "battle": 2, **extra})
    assert r.status_code == 400 and "battle" in r.json()["error"]["message"]


def test_a_battle_of_more_roles_than_there_are_is_a_400_naming_battle(five_app):
    r = httpx.post(f"{five_app}/v1/compare", json={"prompt": "Hi", "battle": 6})
    assert r.status_code == 400 and r.json()["error"]["param"] == "battle"
