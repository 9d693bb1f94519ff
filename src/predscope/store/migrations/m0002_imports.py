"""Version 2: the ``imports`` provenance table and an index for edited-before/after filters."""

from __future__ import annotations

from sqlalchemy import Column, Connection, ForeignKey, Index, Integer, MetaData, String, Table, Text

from predscope.store.types import UTCDateTime


def upgrade(conn: Connection) -> None:
    md = MetaData()
    label_rows = Table("label_rows", md, autoload_with=conn)
    edited = Index(
        "ix_label_rows_project_edited", label_rows.c.project_id, label_rows.c.last_edited_at
    )
    edited.create(conn)
    # Reflecting label_rows also reflected ``projects``, which the foreign key below refers to.
    imports = Table(
        "imports",
        md,
        Column("id", Integer, primary_key=True),
        Column(
            "project_id", Integer, ForeignKey("projects.id", ondelete="CASCADE"), nullable=False
        ),
        Column("branch_name", String(200), nullable=False),
        Column("kind", String(40), nullable=False),
        Column("source_name", Text, nullable=False),
        Column("sha256", String(64), nullable=False),
        Column("created_at", UTCDateTime, nullable=False),
        Column("params", Text, nullable=False),
        Column("report", Text, nullable=False),
        Index("ix_imports_project_branch_sha", "project_id", "branch_name", "sha256"),
    )
    imports.create(conn)
