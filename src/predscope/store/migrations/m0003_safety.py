"""Version 3: a version number on every label row, and the project history table.

``label_rows.version`` starts at 1 and every write of a row adds one, so a save can tell that the
row changed since it was read (no lost updates), and analysis can tell which rows changed since it
last ran. ``history`` records what was removed or renamed, by whom and when; it keeps the project's
hash and title instead of a foreign key, so the record of a removed project outlives it.
"""

from __future__ import annotations

from sqlalchemy import Column, Connection, Index, Integer, MetaData, String, Table, Text, text

from predscope.store.types import UTCDateTime


def upgrade(conn: Connection) -> None:
    conn.execute(text("ALTER TABLE label_rows ADD COLUMN version INTEGER NOT NULL DEFAULT 1"))
    md = MetaData()
    history = Table(
        "history",
        md,
        Column("id", Integer, primary_key=True),
        Column("project_hash", String(36), nullable=False),
        Column("project_title", String(400), nullable=False),
        Column("action", String(40), nullable=False),
        Column("subject", Text, nullable=False),
        Column("details", Text, nullable=False),
        Column("actor", String(200), nullable=False),
        Column("origin", String(40), nullable=False),
        Column("created_at", UTCDateTime, nullable=False),
        Index("ix_history_project", "project_hash", "id"),
    )
    history.create(conn)
