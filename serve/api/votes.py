"""Wire models of the arena: votes on a comparison's answers, and the leaderboard made from them.

`POST /v1/votes` stores (or, for the same `comparison_id`, replaces) one vote and answers only once
it is committed; `GET /v1/votes` exports every vote as JSONL; `GET /v1/leaderboard` ranks models
or roles by Bradley-Terry strength with bootstrap intervals. Pydantic only (the SDK imports this).
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from serve.api.protocol import Message, StrictBody, WireBody

Verdict = Literal["winner", "tie", "all_bad"]


class VotedAnswer(StrictBody):
    """One role's answer as the voter saw it."""

    role: str = Field(max_length=64)
    model: str = Field(max_length=256, description="The model id that wrote it.")
    content: str = Field("", max_length=200_000)
    thinking: str | None = Field(None, max_length=200_000)
    history: list[Message] | None = Field(
        None, max_length=512, description="This role's own earlier turns of the conversation, "
        "as it was sent them (`CompareRequest.history`); absent on a first turn.")


class VoteRequest(StrictBody):
    """A vote on one comparison. `verdict` "winner" names the best answer's role in `winner`;
    "tie" (all as good) and "all_bad" (all as bad) count as ties between every pair shown."""

    comparison_id: str = Field(min_length=1, max_length=128,
                               description="The comparison's id; a second vote replaces the first.")
    prompt: str | None = Field(None, max_length=200_000)
    messages: list[Message] | None = None
    system: str | None = Field(None, max_length=200_000)
    params: dict = Field(default_factory=dict, description="The generation parameters sent.")
    answers: list[VotedAnswer] = Field(min_length=2, max_length=16)
    shown_order: list[str] = Field(description="The roles in the order their columns were shown.")
    blind: bool = Field(False, description="Names were hidden until the vote was cast.")
    conversation_id: str | None = Field(
        None, max_length=128, description="The conversation the voted turn belongs to (any id the "
        "client keeps for it; the page and the SDK's `Conversation` make one).")
    turn: int | None = Field(None, ge=1, le=10_000,
                             description="Which turn of the conversation was voted on, from 1.")
    session_id: str | None = Field(
        None, max_length=128, description="The voter's session (the page makes one per browser "
        "tab): with `first_vote_only`, the leaderboard counts each session's first vote alone.")
    category: str | None = Field(
        None, max_length=64, description="What kind of prompt this was (the page sends a study "
        "probe's id; any label): the leaderboard can rank one category's votes alone.")
    verdict: Verdict
    winner: str | None = Field(None, description="The best answer's role (verdict 'winner').")

    @model_validator(mode="after")
    def _consistent(self):
        roles = [a.role for a in self.answers]
        if len(set(roles)) != len(roles):
            raise ValueError("answers name a role twice")
        if sorted(self.shown_order) != sorted(roles):
            raise ValueError("shown_order must list the answers' roles, each once")
        if (self.verdict == "winner") != (self.winner is not None):
            raise ValueError("'winner' is given exactly when verdict is 'winner'")
        if self.winner is not None and self.winner not in roles:
            raise ValueError(f"winner {self.winner!r} is not one of the answers' roles")
        return self


class VoteRecord(VoteRequest):
    """A stored vote: the request, its id, when it was (last) cast, and whether an answer gave
    away a model's identity (serve/votes/identity.py)."""

    id: int
    created_at: float = Field(description="Unix time of the vote, seconds.")
    flagged: bool = Field(False, description="An answer named a model or its maker: left out "
                                             "of the standings unless `include_flagged`.")
    flag_reason: str | None = Field(None, description="Which answer, and the name it said.")


class VoteAck(WireBody):
    """`POST /v1/votes`'s answer, sent only after the vote is committed."""

    id: int
    comparison_id: str
    replaced: bool = Field(description="True when this vote replaced an earlier one.")
    flagged: bool = Field(False, description="An answer named a model or its maker: the vote "
                                             "is kept, and left out of the standings by default.")
    revealed: dict[str, dict[str, str]] | None = Field(
        None, description="A battle's letters, now the vote is in: letter → {role, model}.")


class Standing(WireBody):
    """One model's (or role's) place. `strength` is the Bradley-Terry log-strength scaled to Elo
    points (400 / ln 10 per unit, mean 1000); `ci_low`/`ci_high` its bootstrap 95% interval."""

    name: str
    rank: int = Field(description="1 + the number of others whose interval lies wholly above "
                                  "this one's (Chatbot Arena's rule: those not told apart share "
                                  "a rank).")
    strength: float
    ci_low: float
    ci_high: float
    wins: int
    losses: int
    ties: int


class StyleCoefficient(WireBody):
    """How much one style feature moves a vote (natural log-odds per standard deviation of the
    feature's normalised difference), with its bootstrap 95% interval (serve/votes/ranking.py)."""

    feature: Literal["length", "headers", "lists", "bold"]
    coefficient: float
    ci_low: float
    ci_high: float


class Leaderboard(WireBody):
    by: Literal["model", "role"]
    category: str | None = Field(None, description="The one category ranked, if any.")
    style_control: bool = Field(
        False, description="`standings` hold style equal (LMArena's style control); the plain "
        "fit is then in `raw_standings`.")
    votes: int
    comparisons: int = Field(description="Pairwise outcomes the fit used (ties included).")
    method: str = "bradley-terry"
    bootstrap_samples: int
    standings: list[Standing]
    raw_standings: list[Standing] | None = None
    style_coefficients: list[StyleCoefficient] | None = None
