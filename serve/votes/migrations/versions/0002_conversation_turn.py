"""Votes on a turn of a conversation (which conversation, which turn), a vote's category and
session, and
why a vote was flagged (an answer named a model or its maker); the battles table (which role
answered under which letter, until the vote reveals it).

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-06
"""

from alembic import op
import sqlalchemy as sa

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "battles",
        sa.Column("comparison_id", sa.String(128), primary_key=True),
        sa.Column("created_at", sa.Float(), nullable=False),
        sa.Column("shown", sa.JSON(), nullable=False),
    )
    with op.batch_alter_table("votes") as batch:  # batch: SQLite alters a table by copying it
        batch.add_column(sa.Column("conversation_id", sa.String(128)))
        batch.add_column(sa.Column("turn", sa.Integer()))
        batch.add_column(sa.Column("category", sa.String(64)))
        batch.add_column(sa.Column("session_id", sa.String(128)))
        batch.add_column(sa.Column("flag_reason", sa.Text()))


def downgrade() -> None:
    op.drop_table("battles")
    with op.batch_alter_table("votes") as batch:
        batch.drop_column("flag_reason")
        batch.drop_column("session_id")
        batch.drop_column("category")
        batch.drop_column("turn")
        batch.drop_column("conversation_id")
