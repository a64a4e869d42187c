"""`VoteStore`: the one Serve deployment that owns the votes database.

Every ingress replica, on every node, sends its votes here through a DeploymentHandle, so that
one process writes one database (SQLite allows one writer; with PostgreSQL it keeps the
connection count at one pool). It asks for a tenth of a CPU. The database is opened, and
migrated to Alembic's head, at the first call rather than in the constructor: an app nobody votes
on never creates a file, and a database that is down fails a vote with a 503, not the deploy.
"""

from __future__ import annotations

import asyncio
import logging
import os

from ray import serve
from sqlalchemy.engine import make_url

from serve.api.votes import VoteAck, VoteRequest
from serve.errors import Unavailable
from serve.votes.battles import reveal
from serve.votes.database import VoteDatabase
from serve.votes.identity import identity_leak, identity_names

logger = logging.getLogger("ray.serve")

# Ray's own mark of the head node (Ray Train pins its state actor with it the same way).
HEAD_NODE = "node:__internal_head__"


def store_options(database_url: str) -> dict:
    """`VoteStore.options(...)` defaults for the URL: a SQLite file lives on one node's disk, so
    its store runs on the head node, where a replacement replica finds the same file after a
    crash (a store free to move would start an empty database on another node). A server
    database (PostgreSQL) leaves the store free to run anywhere."""
    actor = {"num_cpus": 0.1}
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite" and url.database not in (None, "", ":memory:"):
        actor["resources"] = {HEAD_NODE: 0.001}
    return {"ray_actor_options": actor}


@serve.deployment(ray_actor_options={"num_cpus": 0.1}, max_ongoing_requests=64,
                  health_check_period_s=10)
class VoteStore:
    """Holds a `VoteDatabase` for `database_url`; each method runs its query in a thread."""

    def __init__(self, database_url: str, url_env: str | None = None):
        """`url_env`: the name of an environment variable holding the URL instead (read here,
        on the store's node); raises KeyError naming it when it is unset, failing the deploy."""
        if url_env is not None:
            if not os.environ.get(url_env):
                raise KeyError(f"votes.database_url_env names {url_env}, which is not set on "
                               "the store's node")
            database_url = os.environ[url_env]
        self.url = database_url
        self.db: VoteDatabase | None = None
        self._open = asyncio.Lock()
        self._write = asyncio.Lock()  # one vote at a time: a replace is read-then-write

    async def _database(self) -> VoteDatabase:
        async with self._open:
            if self.db is None:
                try:
                    self.db = await asyncio.to_thread(VoteDatabase, self.url)
                except Exception as exc:
                    raise _unavailable(exc) from None
            return self.db

    async def put(self, vote: dict, models: list[str] = (), makers: list[str] = ()) -> dict:
        """Stores a `VoteRequest` (JSON dict), replacing an earlier vote on its comparison;
        returns a `VoteAck` dict once committed. A vote on a battle names its answers by
        letter: they are stored under the roles and models the battle kept (`reveal`), which
        the ack carries as `revealed`. The vote is flagged when an answer names one of
        `models`, its own answers' models, or `makers` (serve/votes/identity.py). Raises
        `InvalidRequest` for a letter the battle did not show, `Unavailable` when the
        database fails."""
        request = VoteRequest.model_validate(vote)
        db = await self._database()
        async with self._write:
            try:
                shown = await asyncio.to_thread(db.battle, request.comparison_id)
            except Exception as exc:
                raise _unavailable(exc) from None
            if shown is not None:
                request = reveal(request, shown)
            names = identity_names([*models, *(a.model for a in request.answers)], makers)
            reason = identity_leak(request.answers, names)
            try:
                rid, replaced = await asyncio.to_thread(db.put, request, None, reason)
            except Exception as exc:
                raise _unavailable(exc) from None
        return VoteAck(id=rid, comparison_id=request.comparison_id, replaced=replaced,
                       flagged=reason is not None, revealed=shown).model_dump()

    async def put_battle(self, comparison_id: str, shown: dict) -> None:
        """Keeps a battle's letters (letter → {role, model}); returns once committed."""
        db = await self._database()
        async with self._write:
            try:
                await asyncio.to_thread(db.put_battle, comparison_id, shown)
            except Exception as exc:
                raise _unavailable(exc) from None

    async def page(self, after_id: int = 0, limit: int = 500) -> list[dict]:
        """Up to `limit` `VoteRecord` dicts with id > `after_id`, oldest first."""
        db = await self._database()
        try:
            return await asyncio.to_thread(db.page, after_id, limit)
        except Exception as exc:
            raise _unavailable(exc) from None

    async def check_health(self) -> None:
        """Serve's health check: only the process (a database outage is a 503 per call)."""


def _unavailable(exc: Exception) -> Unavailable:
    logger.error("votes database error: %s", exc)
    return Unavailable("the votes database is unavailable; retry shortly", code="store_unavailable")
