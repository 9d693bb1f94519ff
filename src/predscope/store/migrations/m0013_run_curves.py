"""Version 13: run results keep their PR-curve entries once per set, by digest.

Frozen on purpose (see m0001). Each run row held its 80 classes' PR curves inline (2 MB of
JSON at 5,000 images), so every run, an incremental one that touched one class included, wrote
and kept 2 MB. ``analysis_curves`` holds each distinct entry once per set under the digest of
its JSON; new runs list digests. Results stored before this keep their inline entries, which
readers take as they are: nothing stored is rewritten here.
"""

from __future__ import annotations

from sqlalchemy import Column, Connection, ForeignKey, Integer, LargeBinary, MetaData, String, Table


def upgrade(conn: Connection) -> None:
    md = MetaData()
    Table("analysis_sets", md, Column("id", Integer, primary_key=True))
    Table(
        "analysis_curves",
        md,
        Column(
            "set_id",
            Integer,
            ForeignKey("analysis_sets.id", ondelete="CASCADE"),
            primary_key=True,
            autoincrement=False,
        ),
        Column("digest", String(32), primary_key=True),
        Column("data", LargeBinary, nullable=False),
    ).create(conn)
