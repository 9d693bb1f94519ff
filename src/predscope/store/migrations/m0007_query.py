"""Version 7: the query layer's layout - one outcome signature per object, per-set counts.

Frozen on purpose (see m0001). Migration 4 kept one index per IoU threshold on
``analysis_objects`` (set, kind, o<t>, confidence, class): ten B-trees of every object, the bulk
of a run's write time, and still no help for sorting by area or IoU or for error-type filters.
Version 7 replaces them with:

* ``sig``: the error type and the outcomes at all ten thresholds in one integer,
  ``error_type * 5**10 + sum(o<t> * 5**t)`` (outcome codes are 0..4), so "outcome X at IoU t"
  and "error type E" are ``sig IN (...)`` over the few signatures a set holds;
* ``analysis_counts``: objects per (set, kind, sig, class) - exact totals of outcome, error and
  class filters from a few hundred rows, written in the same transaction as the objects;
* ``analysis_histograms``: objects per (set, kind, sig) and bucket of confidence or area -
  a range total is whole buckets from here plus its two edge buckets counted in an index;
* covering indexes: by signature, by class, ordered by confidence and by area (filter columns
  inside the index), and per threshold a partial index of the matched objects ordered by IoU.

Existing results get their signatures and counts computed here, in SQL, so no re-analysis is
needed. The sets' match records move to ``analysis_states``: stored inline in ``analysis_sets``
(megabytes per set), SQLite walked their overflow pages on every read of a set row's later
columns (17 ms per query at a million objects).
"""

from __future__ import annotations

import numpy as np
from sqlalchemy import (
    Column,
    Connection,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    SmallInteger,
    Table,
    UniqueConstraint,
    text,
)

THRESHOLDS = 10
ERROR_FACTOR: int = 5**THRESHOLDS


def _indexes(objects: Table) -> list[Index]:
    c = objects.c
    out = [
        Index("ix_analysis_objects_sig", c.set_id, c.kind, c.sig, c.confidence, c.class_id, c.id),
        Index(
            "ix_analysis_objects_class",
            *(c.set_id, c.kind, c.class_id, c.confidence, c.sig, c.data_unit_id, c.frame),
        ),
        Index("ix_analysis_objects_conf", c.set_id, c.kind, c.confidence, c.class_id, c.id, c.sig),
        Index("ix_analysis_objects_area", c.set_id, c.kind, c.area_px, c.class_id, c.id, c.sig),
    ]
    for t in range(THRESHOLDS):
        where = text(f"i{t} IS NOT NULL")
        out.append(
            Index(
                f"ix_analysis_objects_iou{t}",
                c.set_id,
                c.kind,
                c[f"i{t}"],
                c.class_id,
                c.id,
                c.sig,
                sqlite_where=where,
                postgresql_where=where,
            )
        )
    return out


def upgrade(conn: Connection) -> None:
    conn.execute(text("ALTER TABLE analysis_objects ADD COLUMN sig INTEGER NOT NULL DEFAULT 0"))
    terms = " + ".join(f"{5**t} * o{t}" for t in range(THRESHOLDS))
    conn.execute(text(f"UPDATE analysis_objects SET sig = {ERROR_FACTOR} * error_type + {terms}"))
    for t in range(THRESHOLDS):
        conn.execute(text(f"DROP INDEX ix_analysis_objects_t{t}"))
    conn.execute(text("DROP INDEX ix_analysis_objects_class"))
    md = MetaData()
    Table("analysis_sets", md, autoload_with=conn)
    objects = Table("analysis_objects", md, autoload_with=conn)
    for ix in _indexes(objects):
        ix.create(conn)
    counts = Table(
        "analysis_counts",
        md,
        Column(
            "set_id", Integer, ForeignKey("analysis_sets.id", ondelete="CASCADE"), nullable=False
        ),
        Column("kind", SmallInteger, nullable=False),
        Column("sig", Integer, nullable=False),
        Column("class_id", SmallInteger, nullable=False),
        Column("n", Integer, nullable=False),
        UniqueConstraint("set_id", "kind", "sig", "class_id", name="uq_analysis_counts_key"),
    )
    counts.create(conn)
    states = Table(
        "analysis_states",
        md,
        Column(
            "set_id",
            Integer,
            ForeignKey("analysis_sets.id", ondelete="CASCADE"),
            primary_key=True,
            autoincrement=False,
        ),
        Column("state", LargeBinary, nullable=False),
    )
    states.create(conn)
    conn.execute(
        text(
            "INSERT INTO analysis_states (set_id, state) "
            "SELECT id, state FROM analysis_sets WHERE state IS NOT NULL"
        )
    )
    conn.execute(text("ALTER TABLE analysis_sets DROP COLUMN state"))
    histograms = Table(
        "analysis_histograms",
        md,
        Column(
            "set_id", Integer, ForeignKey("analysis_sets.id", ondelete="CASCADE"), nullable=False
        ),
        Column("kind", SmallInteger, nullable=False),
        Column("dim", SmallInteger, nullable=False),
        Column("sig", Integer, nullable=False),
        Column("bucket", SmallInteger, nullable=False),
        Column("n", Integer, nullable=False),
        UniqueConstraint(
            "set_id", "kind", "dim", "sig", "bucket", name="uq_analysis_histograms_key"
        ),
    )
    histograms.create(conn)
    _fill_histograms(conn, histograms)


# The bucket edges of version 7 (store.analysis_objects.HISTOGRAM_EDGES at the time).
EDGES = (
    np.arange(1, 100, dtype=np.float64) / 100,  # confidence
    2.0 ** (np.arange(0, 113, dtype=np.float64) / 4),  # area_px
)


def _fill_histograms(conn: Connection, histograms: Table) -> None:
    sets = [r[0] for r in conn.execute(text("SELECT DISTINCT set_id FROM analysis_objects"))]
    for set_id in sets:
        rows = conn.execute(
            text("SELECT kind, sig, confidence, area_px FROM analysis_objects WHERE set_id = :s"),
            {"s": set_id},
        ).all()
        kind = np.array([r[0] for r in rows], dtype=np.int64)
        sig = np.array([r[1] for r in rows], dtype=np.int64)
        out = []
        for dim, edges in enumerate(EDGES):
            values = np.array([r[2 + dim] for r in rows], dtype=np.float64)
            bucket = np.searchsorted(edges, values, side="right").astype(np.int64)
            keys, n = np.unique(np.stack([kind, sig, bucket], axis=1), axis=0, return_counts=True)
            out += [
                {"set_id": set_id, "kind": k, "dim": dim, "sig": sg, "bucket": b, "n": c}
                for (k, sg, b), c in zip(keys.tolist(), n.tolist(), strict=True)
            ]
        for start in range(0, len(out), 5000):
            conn.execute(histograms.insert(), out[start : start + 5000])
    conn.execute(
        text(
            "INSERT INTO analysis_counts (set_id, kind, sig, class_id, n) "
            "SELECT set_id, kind, sig, class_id, COUNT(*) FROM analysis_objects "
            "GROUP BY set_id, kind, sig, class_id"
        )
    )
