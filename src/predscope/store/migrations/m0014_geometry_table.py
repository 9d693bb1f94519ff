"""Version 14: a label row's geometry copy in ``label_row_geometry``, out of ``label_rows``.

Frozen on purpose (see m0001). m0010 added ``label_rows.geometry`` after the document; SQLite
keeps a row's values in column order, so reading a 2 KB copy walked the overflow pages of the
17 KB document before it (10,000 copies: 155 ms, as long as reading the documents themselves).
Each copy moves, bytes unchanged, to a row keyed by its label row's id; rows without one (NULL)
get none, which readers already take as "read the document". Then the column is dropped
(SQLite 3.35+ and PostgreSQL both can), so no stale copy stays beside a document.
"""

from __future__ import annotations

from sqlalchemy import (
    Column,
    Connection,
    ForeignKey,
    Integer,
    LargeBinary,
    MetaData,
    Table,
    text,
)


def upgrade(conn: Connection) -> None:
    md = MetaData()
    Table("label_rows", md, Column("id", Integer, primary_key=True))
    Table(
        "label_row_geometry",
        md,
        Column(
            "label_row_id",
            Integer,
            ForeignKey("label_rows.id", ondelete="CASCADE"),
            primary_key=True,
            autoincrement=False,
        ),
        Column("geometry", LargeBinary, nullable=False),
    ).create(conn)
    conn.execute(
        text(
            "INSERT INTO label_row_geometry (label_row_id, geometry) "
            "SELECT id, geometry FROM label_rows WHERE geometry IS NOT NULL"
        )
    )
    conn.execute(text("ALTER TABLE label_rows DROP COLUMN geometry"))
