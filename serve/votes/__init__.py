"""The arena's votes: where they are kept and what is made of them.

- `schema.py`: the `votes` table (SQLAlchemy); `migrations/`: its Alembic history.
- `database.py`: the synchronous store over one database URL (SQLite by default, PostgreSQL by
  URL): migrate, add or replace a vote, page through them.
- `store.py`: `VoteStore`, the one small Serve deployment that owns the database, so that every
  ingress replica on every node writes to the same place; the ingress's side of it (calls
  within a time budget, JSONL export) is `serve/ingress/votes_routes.py`.
- `ranking.py`: Bradley-Terry strengths with bootstrap intervals (the leaderboard).

The wire models live in `serve/api/votes.py` (the SDK imports them; no SQLAlchemy there).
"""
