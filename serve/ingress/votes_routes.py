"""The ingress's side of the votes: calls to `VoteStore` within a budget, export, leaderboard.

A call that the store does not answer within `votes.timeout_s`, or that finds its replica gone,
becomes a 503 (`store_unavailable`) with Retry-After: a vote is never left hanging. A call that
timed out may still commit on the store; it was not acknowledged, and a retry replaces it.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

from serve.api.votes import Leaderboard, VoteAck, VoteRecord, VoteRequest
from serve.errors import InvalidRequest, NotFound, Unavailable
from serve.ingress.ray_errors import classify
from serve.ingress.role_client import await_response
from serve.votes import ranking
from serve.votes.identity import identity_leak, identity_names

PAGE = 500
JSONL = "application/x-ndjson"


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


class VoteGateway:
    """The store's handle (None: votes are off in the config) and the votes settings."""

    def __init__(self, handle, timeout_s: float, bootstrap_samples: int,
                 models: list[str] = (), makers: list[str] = ()):
        self.handle = handle
        self.timeout_s = timeout_s
        self.samples = bootstrap_samples
        self.models, self.makers = list(models), list(makers)  # what answers must not say

    async def _call(self, method: str, *args):
        if self.handle is None:
            raise NotFound("votes are off in this server's config (votes.enabled)",
                           code="not_found")
        response = getattr(self.handle, method).remote(*args)
        try:
            return await asyncio.wait_for(await_response(response), self.timeout_s)
        except asyncio.TimeoutError:
            response.cancel()
            raise Unavailable(f"the vote store did not answer within {self.timeout_s:g} s; "
                              "retry shortly", code="store_unavailable") from None
        except Exception as exc:
            err = classify(exc)
            if isinstance(err, Unavailable) and err.code != "store_unavailable":
                raise Unavailable("the vote store's replica went away; retry shortly",
                                  code="store_unavailable") from None
            raise err from None

    async def keep_battle(self, comparison_id: str, shown: dict[str, dict]) -> None:
        """Keeps a battle's letters before its answers go out. Raises `Unavailable` (503): a
        battle whose letters cannot be kept could never be voted on, so it is not run."""
        await self._call("put_battle", comparison_id, shown)

    async def vote(self, body: VoteRequest) -> VoteAck:
        """Stores the vote, flagged when an answer names a model or its maker
        (serve/votes/identity.py); the ack means it is committed. A vote on a battle names its
        answers by letter: they are stored under their roles and models, which the ack reveals
        (`revealed`). Raises `Unavailable` (503), `InvalidRequest` (400) for a battle vote whose
        letters are not the battle's."""
        shown = await self._call("battle", body.comparison_id)
        if shown is not None:
            body = reveal(body, shown)
        names = identity_names(self.models + [a.model for a in body.answers], self.makers)
        reason = identity_leak(body.answers, names)
        ack = VoteAck.model_validate(await self._call("put", body.model_dump(mode="json"),
                                                      reason))
        return ack.model_copy(update={"revealed": shown}) if shown is not None else ack

    async def records(self) -> AsyncIterator[list[dict]]:
        """Every vote as `VoteRecord` dicts, page by page, oldest first."""
        after = 0
        while True:
            page = await self._call("page", after, PAGE)
            if page:
                yield page
            if len(page) < PAGE:
                return
            after = page[-1]["id"]

    async def export(self) -> AsyncIterator[str]:
        """JSONL lines (one `VoteRecord` each). The first page is read before this returns, so
        that a store that is down gives a 503 rather than an empty 200."""
        pages = self.records()
        first = await anext(pages, None)

        async def lines():
            page = first
            while page is not None:
                for record in page:
                    yield VoteRecord.model_validate(record).model_dump_json() + "\n"
                page = await anext(pages, None)

        return lines()

    async def leaderboard(self, by: str, style: bool = True, category: str | None = None,
                          include_flagged: bool = False,
                          first_vote_only: bool = False) -> Leaderboard:
        """The standings (`serve/votes/ranking.py`) from every vote (or one `category`'s),
        style-controlled unless `style` is false, flagged votes left out unless
        `include_flagged`, each session's first vote alone with `first_vote_only`; fitted on a
        thread, off the loop."""
        votes = [VoteRecord.model_validate(r) async for page in self.records() for r in page]
        return await asyncio.to_thread(ranking.leaderboard, votes, by, self.samples,
                                       ranking.SEED, style, category, include_flagged,
                                       first_vote_only)

