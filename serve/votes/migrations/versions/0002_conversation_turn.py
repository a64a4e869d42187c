"""Votes on a turn of a conversation: which conversation, which turn.

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
    with op.batch_alter_table("votes") as batch:  # batch: SQLite alters a table by copying it
        batch.add_column(sa.Column("conversation_id", sa.String(128)))
        batch.add_column(sa.Column("turn", sa.Integer()))


def downgrade() -> None:
    with op.batch_alter_table("votes") as batch:
        batch.drop_column("turn")
        batch.drop_column("conversation_id")
