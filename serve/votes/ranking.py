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

Style control (LMArena, "Does style matter? Disentangling style and substance in Chatbot Arena",
2024, and its notebook's `construct_style_matrices`): the same logistic regression with four more
columns per comparison, the normalised differences (a - b) / (a + b) of the two answers' length
(characters: a vote carries the text, not its token count), Markdown headers, list items and bold
spans, each divided by its standard deviation over the comparisons. The players' coefficients are
then their strengths with style held equal; each style coefficient (natural units per standard
deviation of its feature, with the same bootstrap's interval) says how much that feature alone
moves a vote.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable, Sequence

import numpy as np

from serve.api.votes import Leaderboard, Standing, StyleCoefficient, VoteRequest

ELO_PER_UNIT = 400 / math.log(10)
ELO_MEAN = 1000.0
PRIOR = 0.01  # L2 penalty on the log-strengths (a Gaussian prior with variance 50)
NEWTON_STEPS = 100
SEED = 0

Pair = tuple[int, int]

STYLE = ("length", "headers", "lists", "bold")
_HEADER = re.compile(r"^#{1,6}\s", re.MULTILINE)
_LIST = re.compile(r"^\s*(?:[-*+]|\d+[.)])\s", re.MULTILINE)
_BOLD = re.compile(r"\*\*[^*\n]+\*\*|__[^_\n]+__")


def style_counts(text: str) -> np.ndarray:
    """An answer's style, as `STYLE` orders it: characters, Markdown header lines, list-item
    lines, bold spans. Shape [4]."""
    return np.array([len(text), len(_HEADER.findall(text)), len(_LIST.findall(text)),
                     len(_BOLD.findall(text))], dtype=float)


def style_difference(a: str, b: str) -> np.ndarray:
    """(a - b) / (a + b) per style feature of two answers (0 where both have none). Shape [4]."""
    x, y = style_counts(a), style_counts(b)
    total = x + y
    return np.divide(x - y, total, out=np.zeros_like(total), where=total > 0)


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


def fit_rows(x: np.ndarray, y: np.ndarray, w: np.ndarray, players: int) -> np.ndarray:
    """Coefficients (shape [columns]) of the penalised logistic regression of `y` (the first
    player's score per comparison: 1, 0.5 or 0) on `x` (shape [comparisons, columns]: +1/-1 in
    the two players' columns, then any covariates), each comparison weighted by `w`. Newton's
    method as `fit`; the players' part is returned with mean 0."""
    beta = np.zeros(x.shape[1])
    if not len(y):
        return beta
    for _ in range(NEWTON_STEPS):
        p = 1.0 / (1.0 + np.exp(-(x @ beta)))
        grad = x.T @ (w * (y - p)) - PRIOR * beta
        hess = (x.T * (w * p * (1 - p))) @ x + PRIOR * np.eye(x.shape[1])
        step = np.linalg.solve(hess, grad)
        step *= min(1.0, 4.0 / max(np.abs(step).max(), 1e-12))
        beta += step
        if np.abs(step).max() < 1e-9:
            break
    beta[:players] -= beta[:players].mean()
    return beta


def to_elo(b: np.ndarray) -> np.ndarray:
    """Log-strengths (natural units) to Elo points with mean 1000."""
    if not b.size:
        return b
    return ELO_MEAN + (b - b.mean()) * ELO_PER_UNIT


def leaderboard(votes: Iterable[VoteRequest], by: str = "model", samples: int = 500,
                seed: int = SEED, style: bool = False, category: str | None = None,
                include_flagged: bool = True, first_vote_only: bool = False) -> Leaderboard:
    """The standings of the models (`by="model"`: the answers' model ids) or of the roles
    (`by="role"`) from `votes`, best first. `strength`, `ci_low`, `ci_high` are Elo points (see
    the module's docstring); `rank` is 1 + the number of players whose interval lies wholly above
    this one's (Chatbot Arena's rule: players not told apart share a rank). `samples` bootstrap
    resamples (0: intervals collapse to the point). `style`: the standings with style held
    equal, the plain fit as `raw_standings` and the style coefficients beside them. `category`:
    only the votes of that category. `include_flagged` false: votes flagged for naming a model
    (`VoteRecord.flagged`) are left out. `first_vote_only`: of each `session_id`'s votes only
    the first (the order given; votes without a session all count), as LMArena counts a
    session's first vote alone for its statistics, so that one eager voter cannot outweigh the
    rest (its "Statistical extensions of the Bradley-Terry and Elo models", 2024). Raises
    ValueError for another `by`."""
    if by not in ("model", "role"):
        raise ValueError(f"by must be 'model' or 'role', not {by!r}")
    name_of = (lambda a: a.model) if by == "model" else (lambda a: a.role)
    if category is not None:
        votes = [v for v in votes if v.category == category]
    if not include_flagged:
        votes = [v for v in votes if not getattr(v, "flagged", False)]
    if first_vote_only:
        seen: set[str] = set()
        firsts = []
        for v in votes:
            if v.session_id is None or v.session_id not in seen:
                firsts.append(v)
            if v.session_id is not None:
                seen.add(v.session_id)
        votes = firsts
    votes = [v for v in votes if outcomes(v, name_of)]
    per_vote = [outcomes(v, name_of) for v in votes]
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
    raw = _standings(names, point, low, high, tally)
    board = Leaderboard(by=by, votes=len(per_vote), comparisons=len(rows), category=category,
                        bootstrap_samples=samples if per_vote else 0, standings=raw)
    if not style:
        return board
    point, low, high, coefficients = _style_fit(votes, per_vote, name_of, index, samples,
                                                seed)
    return board.model_copy(update={"standings": _standings(names, point, low, high, tally),
                                    "raw_standings": raw, "style_control": True,
                                    "style_coefficients": coefficients})


def _standings(names, point, low, high, tally) -> list[Standing]:
    out = [Standing(name=n, rank=1 + int(np.sum(low > high[k])), strength=round(float(point[k]), 2),
                    ci_low=round(float(low[k]), 2), ci_high=round(float(high[k]), 2), **tally[n])
           for k, n in enumerate(names)]
    out.sort(key=lambda s: (-s.strength, s.name))
    return out


def _style_fit(votes: list[VoteRequest], per_vote: list, name_of: Callable,
               index: dict[str, int], samples: int, seed: int):
    """The style-controlled fit (module docstring) of `votes`, whose `outcomes` are
    `per_vote`: Elo points, their bootstrap interval, and the style coefficients with theirs."""
    players = len(index)
    rows, vote_of = [], []
    for v, (vote, outs) in enumerate(zip(votes, per_vote)):
        text = {a.role: a.content for a in vote.answers}
        name = {a.role: name_of(a) for a in vote.answers}
        by_name = {}
        for role, n in name.items():
            by_name.setdefault(n, role)
        for a, b, s in outs:
            x = np.zeros(players + len(STYLE))
            x[index[a]], x[index[b]] = 1.0, -1.0
            ra = vote.winner if s == 1.0 else by_name[a]
            x[players:] = style_difference(text[ra], text[by_name[b]])
            rows.append((x, s))
            vote_of.append(v)
    x = np.array([r[0] for r in rows]).reshape(len(rows), players + len(STYLE))
    y = np.array([r[1] for r in rows])
    scale = x[:, players:].std(axis=0)
    x[:, players:] /= np.where(scale > 0, scale, 1.0)
    beta = fit_rows(x, y, np.ones(len(y)), players)
    boot = beta[None, :]
    if samples and len(votes):
        rng = np.random.default_rng(seed)
        counts = rng.multinomial(len(votes), np.full(len(votes), 1 / len(votes)), size=samples)
        per_row = counts[:, np.array(vote_of, dtype=int)] if rows else counts[:, :0]
        boot = np.array([fit_rows(x, y, w.astype(float), players) for w in per_row])
    point = to_elo(beta[:players])
    elo = np.array([to_elo(b[:players]) for b in boot])
    low, high = np.percentile(elo, 2.5, axis=0), np.percentile(elo, 97.5, axis=0)
    c_low = np.percentile(boot[:, players:], 2.5, axis=0)
    c_high = np.percentile(boot[:, players:], 97.5, axis=0)
    coefficients = [StyleCoefficient(feature=f, coefficient=round(float(beta[players + k]), 4),
                                     ci_low=round(float(c_low[k]), 4),
                                     ci_high=round(float(c_high[k]), 4))
                    for k, f in enumerate(STYLE)]
    return point, low, high, coefficients


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
