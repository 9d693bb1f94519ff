"""Version 5: what ``predscope serve`` keeps: hashed API tokens and background jobs."""

from __future__ import annotations

from sqlalchemy import Column, Connection, ForeignKey, Index, Integer, MetaData, String, Table, Text

from predscope.store.types import UTCDateTime


def upgrade(conn: Connection) -> None:
    md = MetaData()
    units = Table("data_units", md, autoload_with=conn)  # reflects ``projects`` too
    Index("ix_data_units_hash", units.c.data_hash).create(conn)
    tokens = Table(
        "api_tokens",
        md,
        Column("id", Integer, primary_key=True),
        Column("token_id", String(36), nullable=False, unique=True),
        Column("name", String(200), nullable=False),
        Column("prefix", String(16), nullable=False),
        Column("token_sha256", String(64), nullable=False, unique=True),
        Column("created_at", UTCDateTime, nullable=False),
    )
    jobs = Table(
        "jobs",
        md,
        Column("id", Integer, primary_key=True),
        Column("job_id", String(36), nullable=False, unique=True),
        Column("project_id", Integer, ForeignKey("projects.id", ondelete="CASCADE")),
        Column("kind", String(40), nullable=False),
        Column("status", String(20), nullable=False),
        Column("stage", Text, nullable=False),
        Column("done", Integer, nullable=False),
        Column("total", Integer),
        Column("params", Text, nullable=False),
        Column("result", Text),
        Column("error", Text),
        Column("created_at", UTCDateTime, nullable=False),
        Column("started_at", UTCDateTime),
        Column("finished_at", UTCDateTime),
        Index("ix_jobs_project_created", "project_id", "created_at"),
        Index("ix_jobs_status", "status"),
    )
    tokens.create(conn)
    jobs.create(conn)
