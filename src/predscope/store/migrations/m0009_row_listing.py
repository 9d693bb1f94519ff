"""Version 9: every label row's listing columns in one index, so a listing never reads a document.

Frozen on purpose (see m0001). On SQLite a row's ``document`` (17 KB on average at COCO scale)
sits before ``object_count``, ``classification_count`` and ``version``, so reading any of those
from the table walks the document's overflow pages: listing a branch of 5,000 rows took 0.13 s,
most of an incremental analysis's fixed cost, and every page listing rows paid it too.
``ix_label_rows_listing`` holds the join key (project, branch, unit) and every column a listing
returns except the document; read as a covering index the same listing takes 0.03-0.06 s (the
join names the project too, so this index matches more of it than the unique (unit, branch) one
and SQLite picks it without a hint). PostgreSQL keeps large values out of line already; there it
is an index-only scan.
"""

from __future__ import annotations

from sqlalchemy import Connection, Index, MetaData, Table

LISTING_INDEX = "ix_label_rows_listing"


def upgrade(conn: Connection) -> None:
    md = MetaData()
    Table("projects", md, autoload_with=conn)
    Table("data_units", md, autoload_with=conn)
    label_rows = Table("label_rows", md, autoload_with=conn)
    c = label_rows.c
    Index(
        LISTING_INDEX,
        c.project_id,
        c.branch_name,
        c.data_unit_id,
        c.label_hash,
        c.label_status,
        c.created_at,
        c.last_edited_at,
        c.object_count,
        c.classification_count,
        c.version,
    ).create(conn)
