"""The votes database: one SQLAlchemy engine over the configured URL, migrated by Alembic.

Synchronous on purpose: `VoteStore` (store.py) runs these calls in a worker thread, one at a time,
and is the database's only writer in the app. A vote returns only once its transaction committed.
"""

from __future__ import annotations

import time
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, create_engine, event, select
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from serve.api.votes import VoteRecord, VoteRequest
from serve.votes.schema import Battle, Vote

MIGRATIONS = Path(__file__).parent / "migrations"
_FIELDS = ("prompt", "messages", "system", "params", "answers", "shown_order", "blind",
           "verdict", "winner", "conversation_id", "turn", "category", "session_id")


def expand_url(url: str) -> str:
    """A SQLite URL's `~` expanded (SQLAlchemy does not) and its folder made; others unchanged."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or parsed.database in (None, "", ":memory:"):
        return url
    path = Path(parsed.database).expanduser()
    path.parent.mkdir(parents=True, exist_ok=True)
    return parsed.set(database=str(path)).render_as_string(hide_password=False)


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    cursor = dbapi_connection.cursor()
    # WAL: readers (the export) do not block the writer, and a commit is one append to the log.
    # synchronous=FULL: the log is fsynced at every commit, so an acknowledged vote survives a
    # crash of the process *and* of the machine (WAL's default, NORMAL, can lose the last
    # commits on power loss); a vote is rare enough that the fsync costs nothing that matters.
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=FULL")
    cursor.execute("PRAGMA busy_timeout=5000")
    cursor.close()


def connect(url: str) -> Engine:
    """An engine for `url` (any SQLAlchemy URL: `sqlite:///path`, `postgresql+psycopg://...`)."""
    url = expand_url(url)
    engine = create_engine(url, pool_pre_ping=True)
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
    return engine


def migrate(engine: Engine) -> None:
    """Brings the schema to Alembic's head revision (a new database gets every revision)."""
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as connection:
        cfg.attributes["connection"] = connection
        command.upgrade(cfg, "head")


class VoteDatabase:
    """Votes in one database. Errors are SQLAlchemy's (`OperationalError` when it is down)."""

    def __init__(self, url: str):
        self.engine = connect(url)
        migrate(self.engine)

    def put(self, vote: VoteRequest, now: float | None = None,
            flag_reason: str | None = None) -> tuple[int, bool]:
        """Stores `vote` (flagged with `flag_reason` when given), replacing an earlier vote on
        the same comparison; returns (row id, replaced), after the commit."""
        values = vote.model_dump(mode="json", include=set(_FIELDS))
        created_at = time.time() if now is None else now
        with Session(self.engine) as session, session.begin():
            row = session.scalars(select(Vote).where(
                Vote.comparison_id == vote.comparison_id).with_for_update()).first()
            replaced = row is not None
            if row is None:
                row = Vote(comparison_id=vote.comparison_id)
                session.add(row)
            for key, value in values.items():
                setattr(row, key, value)
            row.created_at = created_at
            row.flag_reason = flag_reason
            session.flush()
            rid = row.id
        return rid, replaced

    def put_battle(self, comparison_id: str, shown: dict, now: float | None = None) -> None:
        """Keeps which role answered under which letter (`shown`: letter → {role, model}) of a
        battle, committed before its answers are sent."""
        with Session(self.engine) as session, session.begin():
            session.add(Battle(comparison_id=comparison_id, shown=shown,
                               created_at=time.time() if now is None else now))

    def battle(self, comparison_id: str) -> dict | None:
        """A battle's letter → {role, model}, or None when the comparison was no battle."""
        with Session(self.engine) as session:
            row = session.get(Battle, comparison_id)
            return dict(row.shown) if row is not None else None

    def page(self, after_id: int = 0, limit: int = 500) -> list[dict]:
        """Up to `limit` votes with id > `after_id`, by id (the order they were first cast), as
        `VoteRecord` JSON dicts."""
        with Session(self.engine) as session:
            rows = session.scalars(select(Vote).where(Vote.id > after_id)
                                   .order_by(Vote.id).limit(limit)).all()
            return [record(row).model_dump(mode="json") for row in rows]

    def close(self) -> None:
        self.engine.dispose()


def record(row: Vote) -> VoteRecord:
    return VoteRecord.model_validate({
        "id": row.id, "comparison_id": row.comparison_id, "created_at": row.created_at,
        "flagged": row.flag_reason is not None, "flag_reason": row.flag_reason,
        **{key: getattr(row, key) for key in _FIELDS}})
