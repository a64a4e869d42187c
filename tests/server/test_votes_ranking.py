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


def _style_votes(n: int, seed: int = 7) -> list[VoteRequest]:
    """Three equally good models that write long answers at different rates (a 80%, b 50%,
    c 20%), and a voter who always picks the longer answer (a coin between equals)."""
    import random

    rng = random.Random(seed)
    rates = {"a": 0.8, "b": 0.5, "c": 0.2}
    out = []
    for i in range(n):
        x, y = rng.sample(sorted(rates), 2)
        text = {m: ("word " * (120 if rng.random() < rates[m] else 20)) for m in (x, y)}
        longer = max((x, y), key=lambda m: (len(text[m]), rng.random()))
        out.append(VoteRequest(
            comparison_id=f"s{i}", shown_order=[x, y], verdict="winner", winner=longer,
            answers=[{"role": m, "model": m, "content": text[m]} for m in (x, y)]))
    return out


def test_style_control_takes_length_out_of_equally_good_models_strengths():
    votes = _style_votes(600)
    board = ranking.leaderboard(votes, by="model", samples=200, style=True)
    raw, styled = {s.name: s for s in board.raw_standings}, by_name(board)
    # Raw: the model that writes long answers most often is told apart from the one that rarely does.
    assert raw["a"].ci_low > raw["c"].ci_high
    # Style held equal: the same three models overlap, as they are equally good.
    assert styled["a"].ci_low < styled["c"].ci_high and styled["c"].ci_low < styled["a"].ci_high
    length = next(c for c in board.style_coefficients if c.feature == "length")
    assert length.coefficient > 0 and length.ci_low > 0  # length alone moves the votes
    assert board.style_control and [c.feature for c in board.style_coefficients] == list(
        ranking.STYLE)


def test_style_features_count_markdown():
    counts = ranking.style_counts("# Title\n\n- one\n- two\n1. three\n\n**bold** and __more__\n")
    assert counts[1:].tolist() == [1.0, 3.0, 2.0]
    assert ranking.style_difference("aaaa", "").tolist()[0] == 1.0
    assert ranking.style_difference("", "").tolist() == [0.0, 0.0, 0.0, 0.0]


def test_a_category_is_ranked_on_its_own_votes_alone():
    votes = [vote("winner", "instruct", cid=f"m{i}").model_copy(update={"category": "math"})
             for i in range(6)]
    votes += [vote("winner", "base", cid=f"c{i}").model_copy(update={"category": "coding"})
              for i in range(9)]
    math_board = ranking.leaderboard(votes, by="role", samples=20, category="math")
    assert math_board.votes == 6 and math_board.category == "math"
    assert math_board.standings[0].name == "instruct"
    assert by_name(math_board)["base"].wins == 0  # none of the coding votes counted
    assert ranking.leaderboard(votes, by="role", samples=20, category="coding"
                               ).standings[0].name == "base"
    assert ranking.leaderboard(votes, by="role", samples=0, category="none").votes == 0


def test_first_vote_only_counts_each_sessions_first_vote_alone():
    eager = [vote("winner", "base", cid=f"e{i}").model_copy(update={"session_id": "s-eager"})
             for i in range(20)]
    others = [vote("winner", "instruct", cid=f"o{i}").model_copy(update={"session_id": f"s-{i}"})
              for i in range(5)]
    anonymous = [vote("winner", "reasoning", cid="a")]
    every = ranking.leaderboard(eager + others + anonymous, by="role", samples=0)
    firsts = ranking.leaderboard(eager + others + anonymous, by="role", samples=0,
                                 first_vote_only=True)
    assert every.standings[0].name == "base" and every.votes == 26
    assert firsts.votes == 7 and firsts.standings[0].name == "instruct"
