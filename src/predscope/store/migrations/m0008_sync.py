"""Version 8: where a synced project came from, what each of its rows was at the last sync, and
an index that summarises a branch's rows without reading them.

Frozen on purpose (see m0001). ``sync_sources`` links a local project to one project on an
Encord-compatible server (its domain and project hash); ``sync_rows`` holds, per branch and data
unit, the source row's label hash and edit time as last fetched, and the local row's version
right after that sync: a later sync fetches only rows whose source marker moved, and refuses to
overwrite a row edited locally since.

``ix_label_rows_markers`` (project, branch, version, edit time, object and classification counts)
answers from the index alone a branch's row count, version sum, id sum and newest edit (the key
under which its fingerprint is cached, so pages learn whether a prediction set is stale without
reading every row) and its label counts (the start and project pages).

``ix_analysis_objects_unit`` gains ``sig`` (every threshold's outcome): two sets' ground truth is
compared object by object from the index alone, with no table reads.
"""

from __future__ import annotations

from sqlalchemy import (
    Column,
    Connection,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    text,
)

from predscope.store.types import UTCDateTime


def upgrade(conn: Connection) -> None:
    md = MetaData()
    Table("projects", md, autoload_with=conn)
    label_rows = Table("label_rows", md, autoload_with=conn)
    c = label_rows.c
    Index(
        "ix_label_rows_markers",
        c.project_id,
        c.branch_name,
        c.version,
        c.last_edited_at,
        c.object_count,
        c.classification_count,
    ).create(conn)
    objects = Table("analysis_objects", md, autoload_with=conn)
    o = objects.c
    conn.execute(text("DROP INDEX ix_analysis_objects_unit"))
    Index(
        "ix_analysis_objects_unit", o.set_id, o.data_unit_id, o.frame, o.kind, o.seq, o.sig
    ).create(conn)
    sources = Table(
        "sync_sources",
        md,
        Column("id", Integer, primary_key=True),
        Column(
            "project_id",
            Integer,
            ForeignKey("projects.id", ondelete="CASCADE"),
            nullable=False,
            unique=True,
        ),
        Column("kind", String(40), nullable=False),
        Column("domain", Text, nullable=False),
        Column("source_project_hash", String(64), nullable=False),
        Column("created_at", UTCDateTime, nullable=False),
        Column("last_synced_at", UTCDateTime, nullable=False),
        UniqueConstraint("kind", "domain", "source_project_hash", name="uq_sync_sources_source"),
    )
    rows = Table(
        "sync_rows",
        md,
        Column(
            "source_id",
            Integer,
            ForeignKey("sync_sources.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        Column("branch_name", String(200), primary_key=True),
        Column("data_hash", String(64), primary_key=True),
        Column("source_label_hash", String(64), nullable=False),
        Column("source_edited", String(64), nullable=False),
        Column("local_version", Integer, nullable=False),
    )
    sources.create(conn)
    rows.create(conn)
