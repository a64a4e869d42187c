"""The `votes` table, declared once with SQLAlchemy (Alembic's revisions in `migrations/` create
and change it; nothing here issues DDL)."""

from __future__ import annotations

from sqlalchemy import JSON, Boolean, Float, Integer, String, Text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    pass


class Vote(Base):
    """One vote on one comparison; a second vote on the same comparison overwrites the row (its
    id kept, `created_at` the time of the last vote)."""

    __tablename__ = "votes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    comparison_id: Mapped[str] = mapped_column(String(128), unique=True, nullable=False)
    created_at: Mapped[float] = mapped_column(Float, nullable=False)  # Unix time, seconds
    prompt: Mapped[str | None] = mapped_column(Text)
    messages: Mapped[list | None] = mapped_column(JSON)
    system: Mapped[str | None] = mapped_column(Text)
    params: Mapped[dict] = mapped_column(JSON, nullable=False)
    answers: Mapped[list] = mapped_column(JSON, nullable=False)
    shown_order: Mapped[list] = mapped_column(JSON, nullable=False)
    blind: Mapped[bool] = mapped_column(Boolean, nullable=False)
    verdict: Mapped[str] = mapped_column(String(16), nullable=False)
    winner: Mapped[str | None] = mapped_column(String(64))
    conversation_id: Mapped[str | None] = mapped_column(String(128))  # revision 0002
    turn: Mapped[int | None] = mapped_column(Integer)  # from 1; revision 0002
    category: Mapped[str | None] = mapped_column(String(64))  # revision 0002
    session_id: Mapped[str | None] = mapped_column(String(128))  # revision 0002
    flag_reason: Mapped[str | None] = mapped_column(Text)  # revision 0002; set: flagged


class Battle(Base):
    """Which role answered under which letter in an anonymous battle, kept until its vote
    reveals them (revision 0002)."""

    __tablename__ = "battles"

    comparison_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    created_at: Mapped[float] = mapped_column(Float, nullable=False)  # Unix time, seconds
    shown: Mapped[dict] = mapped_column(JSON, nullable=False)  # letter → {role, model}
