"""Battles: k roles drawn at random for an anonymous comparison, as Chatbot Arena draws them.

FastChat's arena samples the models of a battle with per-model weights
(fastchat/serve/gradio_block_arena_anony.py, `get_battle_pair`: the first model by weight, the
second by weight among the rest, sides swapped at random). `pick` does the same for any k: each
draw by weight among the roles not yet drawn, so a role of weight w is in a battle more often
the larger w, and the order drawn is the order shown (random sides). A role of weight 0 is never
drawn. The exact chance of each pair for k = 2 is `pair_probability`. A vote names a battle's
answers by letter; `reveal` turns them back into roles (the store does, as it stores the vote).
"""

from __future__ import annotations

import random
import string
from collections.abc import Mapping

from serve.api.votes import VoteRequest
from serve.errors import InvalidRequest

LETTERS = string.ascii_uppercase


def pick(weights: Mapping[str, float], k: int, rng: random.Random) -> list[str]:
    """k distinct roles, each draw proportional to `weights` among those left; the order drawn
    is the order shown. Raises ValueError when fewer than k roles have a weight above 0."""
    left = {role: w for role, w in weights.items() if w > 0}
    if len(left) < k:
        raise ValueError(f"a battle of {k} needs {k} roles with a battle_weight above 0; "
                         f"there are {len(left)}")
    out = []
    for _ in range(k):
        roles = list(left)
        role = rng.choices(roles, weights=[left[r] for r in roles])[0]
        out.append(role)
        del left[role]
    return out


def pair_probability(weights: Mapping[str, float], a: str, b: str) -> float:
    """The chance that a battle of two is {a, b} (either side): w_a/W · w_b/(W − w_a) +
    w_b/W · w_a/(W − w_b), W the total weight."""
    total = sum(w for w in weights.values() if w > 0)
    wa, wb = weights[a], weights[b]
    return wa / total * wb / (total - wa) + wb / total * wa / (total - wb)


def labels(roles: list[str]) -> dict[str, str]:
    """Role → the letter its answer is shown under: A, B, … in the order drawn."""
    return {role: LETTERS[i] for i, role in enumerate(roles)}


def reveal(body: VoteRequest, shown: dict[str, dict]) -> VoteRequest:
    """A battle vote (answers, order and winner by letter) with each letter replaced by the role
    and model it stood for; always blind. Raises `InvalidRequest` (param `answers`) for a letter
    the battle did not show."""
    role = {letter: s["role"] for letter, s in shown.items()}
    role.update({s["role"]: s["role"] for s in shown.values()})  # a changed vote, names known
    unknown = [a.role for a in body.answers if a.role not in role]
    if unknown:
        raise InvalidRequest(f"answer {unknown[0]!r} is not one of this battle's "
                             f"({', '.join(shown)})", param="answers")
    model = {s["role"]: s["model"] for s in shown.values()}
    answers = [a.model_copy(update={"role": role[a.role], "model": model[role[a.role]]})
               for a in body.answers]
    return VoteRequest.model_validate({
        **body.model_dump(), "answers": [a.model_dump() for a in answers], "blind": True,
        "shown_order": [role.get(x, x) for x in body.shown_order],
        "winner": role.get(body.winner, body.winner) if body.winner else None})
