"""A comparison that goes on: every role keeps its own thread, turn after turn.

    from clients import Client, Conversation
    with Client() as client:
        chat = Conversation(client, params={"max_new_tokens": 64})
        chat.send("Name a prime number.")
        chat.send("And one larger than that?")       # each role sees its own first answer
        chat.regenerate("instruct")                   # that column again, with a new seed
        chat.vote("winner", winner="reasoning")      # on the last turn, as it is now shown
        chat.history["instruct"]                      # [user, assistant, user, assistant]

The server keeps nothing between turns (`CompareRequest.history`), so any ingress replica serves
any turn; this object holds the turns. A role that failed on a turn has no answer there, and its
thread goes on without that turn.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from clients._core import Params, as_params
from clients.client import Client
from serve.api.params import Effort
from serve.api.protocol import CompareResponse, RoleResult
from serve.api.votes import Verdict, VoteAck, VotedAnswer


@dataclass
class Turn:
    """One turn: the user's `prompt`, and each role's answer as it is shown now (`answers`,
    role → `RoleResult`; a regenerated answer replaces the earlier one). `id` is the id of the
    comparison that wrote the latest of them: the id a vote on this turn is filed under, so a
    vote after a regenerate refers to the new answer (and an earlier vote stays as it was)."""

    prompt: str
    id: str
    answers: dict[str, RoleResult] = field(default_factory=dict)
    seeds: dict[str, int | None] = field(default_factory=dict)


class Conversation:
    """A multi-turn comparison over `roles` (default: every role of the server).

    `params`, `overrides`, `system` and `reasoning_effort` apply to every turn, as in
    `Client.compare`. Calls raise what `Client.compare` raises (e.g. `BadRequestError` for a
    history over a role's `max_input_tokens`); a turn that raised is not kept."""

    def __init__(self, client: Client, roles: Iterable[str] | None = None, *,
                 system: str | None = None, params: Params = None,
                 overrides: Mapping[str, Params] | None = None,
                 reasoning_effort: Effort | None = None, conversation_id: str | None = None):
        self.client = client
        self.roles = list(roles) if roles is not None else None
        self.system, self.overrides, self.reasoning_effort = system, overrides, reasoning_effort
        self.params = as_params(params)
        self.id = conversation_id or f"conv-{uuid.uuid4().hex[:24]}"
        self.turns: list[Turn] = []

    # ---- the threads ------------------------------------------------------------------------

    def thread(self, role: str, upto: int | None = None) -> list[dict]:
        """`role`'s own messages of the first `upto` turns (default all): for each turn it
        answered, the user's prompt and its answer (content only: thinking stays out)."""
        out: list[dict] = []
        for turn in self.turns[:upto]:
            answer = turn.answers.get(role)
            if answer is not None and answer.error is None:
                out += [{"role": "user", "content": turn.prompt},
                        {"role": "assistant", "content": answer.content}]
        return out

    @property
    def history(self) -> dict[str, list[dict]]:
        """Role → its thread so far (every role that has answered at least once)."""
        roles = dict.fromkeys(r for t in self.turns for r in t.answers)
        return {r: self.thread(r) for r in roles if self.thread(r)}

    # ---- turns ------------------------------------------------------------------------------

    def send(self, prompt: str, *, params: Params = None) -> CompareResponse:
        """The next turn: `prompt` to every role, each with its own thread; returns the
        comparison (and keeps it as the last turn). `params` are laid over the conversation's
        for this turn only."""
        roles = self.roles
        history = {r: self.thread(r) for r in (roles or self._answered())}
        response = self._compare(prompt, roles, {r: h for r, h in history.items() if h}, params)
        turn = Turn(prompt=prompt, id=response.id)
        for r in response.results:
            turn.answers[r.role] = r
            turn.seeds[r.role] = self._seed(params)
        self.turns.append(turn)
        if self.roles is None:  # the server's choice (every role) holds from now on
            self.roles = [r.role for r in response.results]
        return response

    def regenerate(self, role: str | None = None, *, seed: int | None = None) -> CompareResponse:
        """The last turn again for `role` (default: every role of the turn) with a new seed
        (`seed`, else a random one): its answer replaces the one shown, and the turn's `id`
        becomes this comparison's. Raises `ValueError` before any turn, or for a role the turn
        did not ask. With greedy decoding (temperature 0) a new seed gives the same answer."""
        if not self.turns:
            raise ValueError("nothing to regenerate: send a turn first")
        turn = self.turns[-1]
        roles = [role] if role is not None else list(turn.answers)
        unknown = [r for r in roles if r not in turn.answers]
        if unknown:
            raise ValueError(f"role {unknown[0]!r} did not answer the last turn")
        seed = random.randrange(2**31) if seed is None else seed
        upto = len(self.turns) - 1
        history = {r: self.thread(r, upto) for r in roles}
        response = self._compare(turn.prompt, roles, {r: h for r, h in history.items() if h},
                                 {"seed": seed})
        for r in response.results:
            turn.answers[r.role] = r
            turn.seeds[r.role] = seed
        turn.id = response.id
        return response

    def vote(self, verdict: Verdict, *, winner: str | None = None,
             turn: int | None = None) -> VoteAck:
        """A vote on turn `turn` (from 1; default the last) as its answers are shown now, with
        each role's own earlier thread and the turn's number (`VoteRequest.turn`). Roles that
        failed on the turn are not in it. Raises as `Client.vote`."""
        if not self.turns:
            raise ValueError("nothing to vote on: send a turn first")
        n = len(self.turns) if turn is None else turn
        if not 1 <= n <= len(self.turns):
            raise ValueError(f"turn {n} is not one of 1..{len(self.turns)}")
        t = self.turns[n - 1]
        answers = [VotedAnswer(role=r.role, model=r.model, content=r.content, thinking=r.thinking,
                               history=self.thread(r.role, n - 1) or None)
                   for r in t.answers.values() if r.error is None]
        return self.client.vote(t.id, verdict, winner=winner, answers=answers, prompt=t.prompt,
                                system=self.system, params=self.params,
                                conversation_id=self.id, turn=n)

    # ---- plumbing ---------------------------------------------------------------------------

    def _answered(self) -> list[str]:
        return list(dict.fromkeys(r for t in self.turns for r in t.answers))

    def _seed(self, params: Params) -> int | None:
        return as_params(params).seed if params is not None else self.params.seed

    def _compare(self, prompt: str, roles: list[str] | None, history: dict,
                 params: Params) -> CompareResponse:
        merged = {**self.params.model_dump(exclude_none=True),
                  **as_params(params).model_dump(exclude_none=True)}
        return self.client.compare(prompt, roles=roles, system=self.system, params=merged,
                                   overrides=self.overrides, history=history,
                                   reasoning_effort=self.reasoning_effort)
