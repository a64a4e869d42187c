"""The store and the ingress's routes to it (serve/ingress/votes_routes.py), without Ray: a database that cannot open, a store
that does not answer, a replica that went away: each a 503 (`store_unavailable`), at once or
within the budget. And the database itself: migrated by Alembic, WAL with synchronous=FULL."""

from __future__ import annotations

import asyncio
import sqlite3
import time

import pytest
from ray.exceptions import RayActorError

from serve.api.votes import VoteRequest
from serve.errors import InvalidRequest, NotFound, Unavailable
from serve.ingress.votes_routes import VoteGateway
from serve.votes.database import VoteDatabase
from serve.votes.store import HEAD_NODE, VoteStore, store_options

VOTE = VoteRequest(comparison_id="c1", answers=[{"role": "a", "model": "m1"},
                                                {"role": "b", "model": "m2"}],
                   shown_order=["b", "a"], verdict="winner", winner="a")


def test_a_new_database_is_migrated_durable_and_keeps_votes_across_opens(tmp_path):
    url = f"sqlite:///{tmp_path}/deep/state/votes.db"
    db = VoteDatabase(url)
    assert db.put(VOTE, now=1.0) == (1, False)
    assert db.put(VOTE.model_copy(update={"verdict": "tie", "winner": None}), now=2.0) == (1, True)
    db.close()
    again = VoteDatabase(url)  # the migration runs again: a no-op at head
    (row,) = again.page()
    assert (row["verdict"], row["created_at"], row["shown_order"]) == ("tie", 2.0, ["b", "a"])
    con = sqlite3.connect(tmp_path / "deep/state/votes.db")
    assert con.execute("select version_num from alembic_version").fetchall() == [("0002",)]
    assert con.execute("pragma journal_mode").fetchone() == ("wal",)
    with again.engine.connect() as c:
        assert c.exec_driver_sql("pragma synchronous").scalar() == 2  # FULL


def test_a_database_of_revision_0001_keeps_its_votes_and_takes_votes_on_turns(tmp_path):
    """A votes.db made before conversations (revision 0001) is upgraded in place when the store
    opens it: its votes stay, and a vote on turn 2 of a conversation keeps both fields and each
    answer's own history."""
    from alembic import command
    from alembic.config import Config

    from serve.votes.database import MIGRATIONS, connect

    url = f"sqlite:///{tmp_path}/old.db"
    engine = connect(url)
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as connection:
        cfg.attributes["connection"] = connection
        command.upgrade(cfg, "0001")
        connection.exec_driver_sql(
            "insert into votes (comparison_id, created_at, params, answers, shown_order, blind, "
            "verdict) values ('old', 1.0, '{}', ?, '[\"a\", \"b\"]', 0, 'tie')",
            ('[{"role": "a", "model": "m1"}, {"role": "b", "model": "m2"}]',))
    engine.dispose()
    db = VoteDatabase(url)
    history = [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "hello"}]
    turn = VOTE.model_copy(update={"comparison_id": "c2", "conversation_id": "conv-1", "turn": 2})
    turn.answers[0] = turn.answers[0].model_copy(update={"history": history})
    db.put(turn, now=2.0)
    old, new = db.page()
    assert (old["comparison_id"], old["turn"], old["conversation_id"]) == ("old", None, None)
    assert (new["conversation_id"], new["turn"]) == ("conv-1", 2)
    assert [m["content"] for m in new["answers"][0]["history"]] == ["hi", "hello"]
    assert new["answers"][1]["history"] is None


def test_a_database_that_cannot_open_is_a_503_not_a_crash(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    store = VoteStore.func_or_class(f"sqlite:///{blocker}/votes.db")
    with pytest.raises(Unavailable) as err:
        asyncio.run(store.put(VOTE.model_dump(mode="json")))
    assert err.value.code == "store_unavailable"


def test_one_store_call_reveals_a_battles_letters_flags_a_leak_and_refuses_a_stranger(tmp_path):
    store = VoteStore.func_or_class(f"sqlite:///{tmp_path}/votes.db")
    shown = {"A": {"role": "big", "model": "org/Alpha-7B"}, "B": {"role": "small",
                                                                  "model": "org/Beta-1B"}}
    asyncio.run(store.put_battle("b1", shown))
    vote = {"comparison_id": "b1", "answers": [
        {"role": "A", "model": "", "content": "I am Alpha-7B, happy to help."},
        {"role": "B", "model": "", "content": "Hello."}],
        "shown_order": ["A", "B"], "verdict": "winner", "winner": "B"}
    ack = asyncio.run(store.put(vote, ["org/Alpha-7B", "org/Beta-1B"], ["Acme"]))
    assert ack["revealed"] == shown and ack["flagged"] and not ack["replaced"]
    stored = store.db.page()[0]
    assert [a["role"] for a in stored["answers"]] == ["big", "small"]
    assert stored["winner"] == "small" and stored["shown_order"] == ["big", "small"]
    assert stored["blind"] and "'Alpha-7B'" in stored["flag_reason"]
    with pytest.raises(InvalidRequest) as err:
        asyncio.run(store.put({**vote, "answers": [{"role": "C", "model": ""},
                                                  {"role": "B", "model": ""}],
                                "shown_order": ["C", "B"]}))
    assert err.value.param == "answers"
    plain = asyncio.run(store.put(VOTE.model_dump(mode="json"), ["org/Alpha-7B"], ["Acme"]))
    assert plain["revealed"] is None and not plain["flagged"]


class _Call:
    def __init__(self, outcome):
        self.outcome, self.cancelled = outcome, False

    def __await__(self):
        return self._run().__await__()

    async def _run(self):
        if self.outcome == "hang":
            await asyncio.sleep(3600)
        raise self.outcome

    def cancel(self):
        self.cancelled = True


class _Handle:
    """A store handle whose `put` answers with `outcome`."""

    def __init__(self, outcome):
        self.call = _Call(outcome)
        self.put = self

    def remote(self, *args):
        return self.call


def test_a_store_that_does_not_answer_is_a_503_within_the_budget():
    handle = _Handle("hang")
    start = time.monotonic()
    with pytest.raises(Unavailable) as err:
        asyncio.run(VoteGateway(handle, 0.2, 10).vote(VOTE))
    assert time.monotonic() - start < 2 and handle.call.cancelled
    assert err.value.code == "store_unavailable" and "0.2 s" in err.value.message


def test_a_dead_replica_is_a_503_and_votes_off_is_a_404():
    with pytest.raises(Unavailable) as err:
        asyncio.run(VoteGateway(_Handle(RayActorError()), 5, 10).vote(VOTE))
    assert err.value.code == "store_unavailable" and "vote store" in err.value.message
    with pytest.raises(NotFound):
        asyncio.run(VoteGateway(None, 5, 10).vote(VOTE))


def test_a_sqlite_store_stays_on_the_head_node_and_a_server_database_does_not():
    pinned = store_options("sqlite:///~/.triserve/votes.db")["ray_actor_options"]
    assert pinned["resources"] == {HEAD_NODE: 0.001} and pinned["num_cpus"] < 1
    free = store_options("postgresql+psycopg://u@db/triserve")["ray_actor_options"]
    assert "resources" not in free
