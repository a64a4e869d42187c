"""The leaderboard's math (serve/votes/ranking.py) on votes whose answer is known."""

from __future__ import annotations

import math

import pytest

from serve.api.votes import VoteRequest
from serve.votes import ranking

MODELS = {"base": "m-base", "instruct": "m-instruct", "reasoning": "m-reasoning"}


def vote(verdict: str, winner: str | None = None, roles=("base", "instruct", "reasoning"),
         cid: str = "c") -> VoteRequest:
    answers = [{"role": r, "model": MODELS[r], "content": r} for r in roles]
    return VoteRequest(comparison_id=cid, answers=answers, shown_order=list(roles),
                       verdict=verdict, winner=winner)


def by_name(board):
    return {s.name: s for s in board.standings}


def test_a_winner_beats_every_other_answer_and_ties_pair_everyone():
    name = lambda a: a.role  # noqa: E731
    assert sorted(ranking.outcomes(vote("winner", "instruct"), name)) == [
        ("instruct", "base", 1.0), ("instruct", "reasoning", 1.0)]
    assert len(ranking.outcomes(vote("tie"), name)) == 3
    assert all(s == 0.5 for *_, s in ranking.outcomes(vote("all_bad"), name))


def test_one_model_in_two_roles_is_not_compared_with_itself():
    v = vote("winner", "base", roles=("base", "instruct"))
    same = lambda a: "one-model"  # noqa: E731
    assert ranking.outcomes(v, same) == []


def test_the_player_that_always_wins_ranks_first_with_a_finite_strength():
    votes = [vote("winner", "reasoning", cid=f"c{i}") for i in range(20)]
    board = ranking.leaderboard(votes, by="role", samples=100)
    s = by_name(board)
    assert board.standings[0].name == "reasoning" and s["reasoning"].wins == 40
    assert math.isfinite(s["reasoning"].strength)
    assert s["reasoning"].strength > s["base"].strength + 200
    assert s["reasoning"].rank == 1 and s["base"].rank > 1
    assert board.votes == 20 and board.comparisons == 40


def test_symmetric_outcomes_and_ties_give_equal_strengths():
    votes = [vote("tie", cid=f"t{i}") for i in range(10)] + \
        [vote("winner", r, cid=f"w{r}{i}") for r in MODELS for i in range(3)]
    board = ranking.leaderboard(votes, by="model", samples=50)
    strengths = [s.strength for s in board.standings]
    assert max(strengths) - min(strengths) < 1e-6
    assert sum(strengths) / len(strengths) == pytest.approx(1000.0)
    assert all(s.rank == 1 for s in board.standings)
    assert all(s.ties == 20 for s in board.standings)  # each model in 2 pairs × 10 ties


def test_a_tie_is_half_a_win():
    # A beats B twice and ties once = 2.5 of 3: the same fit as 5 wins of 6.
    half = [vote("winner", "base", ("base", "instruct"), f"w{i}") for i in range(2)] + \
        [vote("tie", roles=("base", "instruct"), cid="t")]
    whole = [vote("winner", "base", ("base", "instruct"), f"w{i}") for i in range(5)] + \
        [vote("winner", "instruct", ("base", "instruct"), "l")]
    gap = lambda b: by_name(b)["base"].strength - by_name(b)["instruct"].strength  # noqa: E731
    fit_half = ranking.leaderboard(half, by="role", samples=0)
    fit_whole = ranking.leaderboard(whole, by="role", samples=0)
    # Without the prior both gaps are ln 5 units; the prior pulls the smaller sample in more.
    assert 0 < gap(fit_half) < gap(fit_whole) <= math.log(5) * ranking.ELO_PER_UNIT + 1e-6
    assert gap(fit_whole) == pytest.approx(math.log(5) * ranking.ELO_PER_UNIT, rel=0.02)


def test_intervals_hold_the_estimate_and_shrink_with_more_votes():
    def votes(n):
        # instruct wins 2 of 3 against base
        return [vote("winner", "instruct" if i % 3 else "base", ("base", "instruct"), f"c{i}")
                for i in range(n)]

    small = by_name(ranking.leaderboard(votes(30), by="role", samples=300))
    large = by_name(ranking.leaderboard(votes(600), by="role", samples=300))
    for board in (small, large):
        for s in board.values():
            assert s.ci_low <= s.strength <= s.ci_high
    width = lambda s: s.ci_high - s.ci_low  # noqa: E731
    assert width(large["instruct"]) < width(small["instruct"]) / 2
    assert large["instruct"].ci_low > large["base"].ci_high  # told apart with 600 votes
    assert large["instruct"].rank == 1 and large["base"].rank == 2


def test_bootstrap_is_seeded_and_empty_votes_give_an_empty_board():
    votes = [vote("winner", "base", cid=f"c{i}") for i in range(5)] + [vote("tie", cid="t")]
    assert ranking.leaderboard(votes, samples=50) == ranking.leaderboard(votes, samples=50)
    empty = ranking.leaderboard([], by="role")
    assert empty.standings == [] and empty.votes == 0 and empty.bootstrap_samples == 0
    with pytest.raises(ValueError):
        ranking.leaderboard(votes, by="nope")
