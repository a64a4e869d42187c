"""The leaderboard's math: Bradley-Terry strengths from votes, with bootstrap 95% intervals.

Model (Bradley & Terry 1952, "Rank analysis of incomplete block designs"): each player i has a
log-strength b_i and P(i beats j) = 1 / (1 + exp(-(b_i - b_j))). The b are fitted by maximum
likelihood, as Chatbot Arena's "MLE Elo" does (Chiang et al. 2024, "Chatbot Arena", sec. 4, and
its notebook's `compute_mle_elo`): a logistic regression with one +1/-1 column per player, fitted
here by Newton's method with a small L2 penalty (`PRIOR`) so that an unbeaten player's strength
stays finite and the fit is defined for any set of votes.

Outcomes: a vote whose verdict is "winner" makes the winner beat every other answer shown; "tie"
and "all_bad" make every pair shown a tie (Chatbot Arena counts "both bad" as a tie). A tie counts
as half a win for each side (Chatbot Arena's notebook duplicates tied battles as one win each way;
a target of 0.5 is the same likelihood). Two answers of one vote under the same name (one model
in two roles) are not compared.

Scale: Elo points, E_i = 1000 + (b_i - mean b) * 400 / ln 10, so that 400 points are 10:1 odds.
Intervals: votes resampled with replacement (`samples` times, seeded), the model refitted on each
resample, and the 2.5th and 97.5th percentiles of each player's points taken (percentile method).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence

import numpy as np

from serve.api.votes import Leaderboard, Standing, VoteRequest

ELO_PER_UNIT = 400 / math.log(10)
ELO_MEAN = 1000.0
PRIOR = 0.01  # L2 penalty on the log-strengths (a Gaussian prior with variance 50)
NEWTON_STEPS = 100
SEED = 0

Pair = tuple[int, int]


def outcomes(vote: VoteRequest, name_of: Callable) -> list[tuple[str, str, float]]:
    """The vote's pairwise outcomes as (a, b, score of a): 1 a won, 0.5 a tie. Names come from
    `name_of(answer)` (the model id or the role); pairs with one name twice are left out."""
    names = {a.role: name_of(a) for a in vote.answers}
    if vote.verdict == "winner":
        w = names[vote.winner]
        return [(w, n, 1.0) for role, n in names.items() if role != vote.winner and n != w]
    shown = list(names.values())
    return [(a, b, 0.5) for i, a in enumerate(shown) for b in shown[i + 1:] if a != b]


def fit(players: int, pairs: Sequence[Pair], games: np.ndarray, score: np.ndarray) -> np.ndarray:
    """Log-strengths b (shape [players], mean 0) maximising the penalised Bradley-Terry
    likelihood. `pairs[k] = (i, j)`; `games[k]` comparisons of i with j, `score[k]` i's points
    in them (wins + half the ties). Newton's method on the concave objective
    sum_k score_k log s(b_i - b_j) + (games_k - score_k) log s(b_j - b_i) - PRIOR/2 |b|^2."""
    b = np.zeros(players)
    if not len(pairs) or not players:
        return b
    i = np.array([p[0] for p in pairs])
    j = np.array([p[1] for p in pairs])
    x = np.zeros((len(pairs), players))
    x[np.arange(len(pairs)), i] = 1.0
    x[np.arange(len(pairs)), j] = -1.0
    for _ in range(NEWTON_STEPS):
        p = 1.0 / (1.0 + np.exp(-(x @ b)))
        grad = x.T @ (score - games * p) - PRIOR * b
        hess = (x.T * (games * p * (1 - p))) @ x + PRIOR * np.eye(players)
        step = np.linalg.solve(hess, grad)
        # Damped: a separable data set (an unbeaten player) makes early Newton steps huge.
        step *= min(1.0, 4.0 / max(np.abs(step).max(), 1e-12))
        b += step
        if np.abs(step).max() < 1e-9:
            break
    return b - b.mean()


def to_elo(b: np.ndarray) -> np.ndarray:
    """Log-strengths (natural units) to Elo points with mean 1000."""
    if not b.size:
        return b
    return ELO_MEAN + (b - b.mean()) * ELO_PER_UNIT


def leaderboard(votes: Iterable[VoteRequest], by: str = "model", samples: int = 500,
                seed: int = SEED) -> Leaderboard:
    """The standings of the models (`by="model"`: the answers' model ids) or of the roles
    (`by="role"`) from `votes`, best first. `strength`, `ci_low`, `ci_high` are Elo points (see
    the module's docstring); `rank` is 1 + the number of players whose interval lies wholly above
    this one's (Chatbot Arena's rule: players not told apart share a rank). `samples` bootstrap
    resamples (0: intervals collapse to the point). Raises ValueError for another `by`."""
    if by not in ("model", "role"):
        raise ValueError(f"by must be 'model' or 'role', not {by!r}")
    name_of = (lambda a: a.model) if by == "model" else (lambda a: a.role)
    per_vote = [o for o in (outcomes(v, name_of) for v in votes) if o]
    names = sorted({n for o in per_vote for a, b, _ in o for n in (a, b)})
    index = {n: k for k, n in enumerate(names)}
    pairs: dict[Pair, int] = {}
    rows = []  # (vote, pair column, score of the pair's first player)
    for v, outs in enumerate(per_vote):
        for a, b, s in outs:
            i, j = index[a], index[b]
            key, s = ((i, j), s) if i < j else ((j, i), 1.0 - s)
            rows.append((v, pairs.setdefault(key, len(pairs)), s))
    games_v = np.zeros((len(per_vote), len(pairs)))  # per vote: comparisons per pair
    score_v = np.zeros((len(per_vote), len(pairs)))
    for v, k, s in rows:
        games_v[v, k] += 1
        score_v[v, k] += s
    keys = list(pairs)
    point = to_elo(fit(len(names), keys, games_v.sum(0), score_v.sum(0)))
    low, high = point.copy(), point.copy()
    if samples and per_vote:
        rng = np.random.default_rng(seed)
        draws = rng.multinomial(len(per_vote), np.full(len(per_vote), 1 / len(per_vote)),
                                size=samples)
        boot = np.array([to_elo(fit(len(names), keys, w @ games_v, w @ score_v)) for w in draws])
        low, high = np.percentile(boot, 2.5, axis=0), np.percentile(boot, 97.5, axis=0)
    tally = _tally(names, per_vote)
    standings = [
        Standing(name=n, rank=1 + int(np.sum(low > high[k])), strength=round(float(point[k]), 2),
                 ci_low=round(float(low[k]), 2), ci_high=round(float(high[k]), 2), **tally[n])
        for k, n in enumerate(names)
    ]
    standings.sort(key=lambda s: (-s.strength, s.name))
    return Leaderboard(by=by, votes=len(per_vote), comparisons=len(rows),
                       bootstrap_samples=samples if per_vote else 0, standings=standings)


def _tally(names: list[str], per_vote: list) -> dict[str, dict[str, int]]:
    counts = {n: {"wins": 0, "losses": 0, "ties": 0} for n in names}
    for outs in per_vote:
        for a, b, s in outs:
            if s == 0.5:
                counts[a]["ties"] += 1
                counts[b]["ties"] += 1
            else:
                counts[a]["wins"] += 1
                counts[b]["losses"] += 1
    return counts
