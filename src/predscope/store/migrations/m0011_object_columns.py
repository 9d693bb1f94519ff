"""Version 11: a set's objects as typed columns instead of one indexed row per object.

Frozen on purpose (see m0001). ``analysis_objects`` (55 columns, fifteen indexes) with its
``analysis_counts`` and ``analysis_histograms`` cost a full run at 5,000 images about 8 s of
writing, four times ``predscope eval`` in all. Each set's stored rows are read here in
(kind, data unit, frame, seq) order and written as one little-endian array per column into
``analysis_columns``, one block per kind (no unit bounds: the set's next full run splits it into
the blocks a run writes), with the set's count and a fresh token in ``analysis_column_sets``;
then the three old tables are dropped. NULLs become the columns'
empty markers (NaN for floats, -1 for a partner), as a new run writes them.
"""

from __future__ import annotations

import uuid

import numpy as np
from sqlalchemy import (
    Column,
    Connection,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    UniqueConstraint,
    inspect,
    select,
)

_KIND_STRIDE = 1 << 24
_DTYPES: dict[str, str] = {
    "kind": "<i1",
    "data_unit_id": "<i8",
    "frame": "<i4",
    "seq": "<i4",
    "object_hash": "S",
    "class_id": "<i2",
    "confidence": "<f8",
    "x": "<f8",
    "y": "<f8",
    "w": "<f8",
    "h": "<f8",
    "area_px": "<f8",
    "area_share": "<f8",
    "aspect_ratio": "<f8",
    "border_distance_px": "<f8",
    "border_distance_share": "<f8",
    "objects_in_image": "<i4",
    "error_type": "<i1",
    "best_iou_any": "<f8",
    "sig": "<i8",
    **{f"o{t}": "<i1" for t in range(10)},
    **{f"p{t}": "<i4" for t in range(10)},
    **{f"i{t}": "<f8" for t in range(10)},
}


def _tables(md: MetaData) -> tuple[Table, Table]:
    sets = Table(
        "analysis_column_sets",
        md,
        Column(
            "set_id",
            Integer,
            ForeignKey("analysis_sets.id", ondelete="CASCADE"),
            primary_key=True,
            autoincrement=False,
        ),
        Column("token", String(32), nullable=False),
        Column("count", Integer, nullable=False),
        Column("bounds", LargeBinary, nullable=False),
    )
    columns = Table(
        "analysis_columns",
        md,
        Column(
            "set_id", Integer, ForeignKey("analysis_sets.id", ondelete="CASCADE"), nullable=False
        ),
        Column("name", String(40), nullable=False),
        Column("part", Integer, nullable=False),
        Column("count", Integer, nullable=False),
        Column("token", String(32), nullable=False),
        Column("dtype", String(16), nullable=False),
        Column("data", LargeBinary, nullable=False),
        UniqueConstraint("set_id", "name", "part", name="uq_analysis_columns_part"),
        Index("ix_analysis_columns_part", "set_id", "part"),
    )
    return sets, columns


def _array(name: str, values: list[object]) -> np.ndarray:
    spec = _DTYPES[name]
    if spec == "S":
        encoded = [str(v).encode("utf-8") for v in values]
        return np.array(encoded, dtype="S") if encoded else np.zeros(0, dtype="S1")
    if name.startswith("p") and name[1:].isdigit():
        values = [-1 if v is None else v for v in values]
    elif spec.startswith("<f"):
        values = [np.nan if v is None else v for v in values]
    return np.array(values, dtype=np.float64 if spec.startswith("<f") else np.int64).astype(spec)


def upgrade(conn: Connection) -> None:
    md = MetaData()
    Table("analysis_sets", md, autoload_with=conn)
    sets, columns = _tables(md)
    sets.create(conn)
    columns.create(conn)
    if inspect(conn).has_table("analysis_objects"):
        objects = Table("analysis_objects", md, autoload_with=conn)
        o = objects.c
        set_ids = [r[0] for r in conn.execute(select(o.set_id).distinct().order_by(o.set_id))]
        for set_id in set_ids:
            query = (
                select(*[o[name] for name in _DTYPES])
                .where(o.set_id == set_id)
                .order_by(o.kind, o.data_unit_id, o.frame, o.seq)
            )
            rows = conn.execute(query).all()
            token = uuid.uuid4().hex
            conn.execute(
                sets.insert().values(set_id=set_id, token=token, count=len(rows), bounds=b"")
            )
            kinds = np.array([r[0] for r in rows], dtype=np.int64)
            for k, name in enumerate(_DTYPES):
                array = np.ascontiguousarray(_array(name, [r[k] for r in rows]))
                parts = [
                    {
                        "set_id": set_id,
                        "name": name,
                        "part": kind * _KIND_STRIDE,
                        "count": int(np.count_nonzero(kinds == kind)),
                        "token": token,
                        "dtype": array.dtype.str,
                        "data": array[kinds == kind].tobytes(),
                    }
                    for kind in (0, 1)
                    if np.any(kinds == kind)
                ]
                if parts:
                    conn.execute(columns.insert(), parts)
    for name in ("analysis_histograms", "analysis_counts", "analysis_objects"):
        if inspect(conn).has_table(name):
            conn.exec_driver_sql(f"DROP TABLE {name}")
