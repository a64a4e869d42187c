"""The ingress's side of the votes: calls to `VoteStore` within a budget, export, leaderboard.

A call that the store does not answer within `votes.timeout_s`, or that finds its replica gone,
becomes a 503 (`store_unavailable`) with Retry-After: a vote is never left hanging. A call that
timed out may still commit on the store; it was not acknowledged, and a retry replaces it.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

from serve.api.votes import Leaderboard, VoteAck, VoteRecord, VoteRequest
from serve.errors import NotFound, Unavailable
from serve.ingress.ray_errors import classify
from serve.ingress.role_client import await_response
from serve.votes import ranking

PAGE = 500
JSONL = "application/x-ndjson"


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
        """Stores the vote in one store call (`VoteStore.put`: a battle's letters resolved, the
        identity flag set, then the commit); the ack means it is committed and carries
        `revealed` for a battle. Raises `Unavailable` (503), `InvalidRequest` (400) for a battle
        vote whose letters are not the battle's."""
        return VoteAck.model_validate(await self._call(
            "put", body.model_dump(mode="json"), self.models, self.makers))

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

