"""Bulk writes of a prediction set's per-object outcomes, per-frame counts and object attributes.

Hundreds of thousands of rows per run: SQLite gets one ``executemany`` of plain tuples on the
driver cursor, PostgreSQL one ``COPY`` (text format), both inside the caller's transaction, so a
run's results appear all at once when it commits and never half.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray
from sqlalchemy import Connection, Table, delete, func, select

from predscope.store._util import chunks
from predscope.store.schema import (
    analysis_attributes,
    analysis_counts,
    analysis_frames,
    analysis_objects,
)

# Index pages of a run's rows are touched in random order; a roomy page cache keeps them in
# memory (SQLite's default is 2 MB) - applied to the connection that writes.
SQLITE_CACHE_KB = 256 * 1024
RESULT_TABLES = (analysis_objects, analysis_attributes, analysis_frames)
# ``analysis_objects.sig`` (m0007): error_type * 5**10 + sum(o<t> * 5**t), outcome codes 0..4.
SIG_THRESHOLDS = 10
ERROR_FACTOR = 5**SIG_THRESHOLDS


def sig_outcome(sig: int, t: int) -> int:
    """The outcome code at threshold index ``t`` of a signature."""
    return (sig // 5**t) % 5


def sig_error(sig: int) -> int:
    """The error type code of a signature."""
    return sig // ERROR_FACTOR


@dataclass(frozen=True)
class Nullable:
    """An integer column with NULLs: ``values`` where ``mask`` is true, NULL elsewhere."""

    values: NDArray[np.int64]
    mask: NDArray[np.bool_]

    def __len__(self) -> int:
        return int(self.values.shape[0])

    def __getitem__(self, part: slice | NDArray[np.intp]) -> Nullable:
        return Nullable(self.values[part], self.mask[part])


def _python(values: Any) -> list[Any]:
    """A column as Python values; NaN becomes None (NULL) on both databases."""
    if isinstance(values, Nullable):
        pairs = zip(values.values.tolist(), values.mask.tolist(), strict=True)
        return [v if ok else None for v, ok in pairs]
    if isinstance(values, np.ndarray):
        out: list[Any] = values.tolist()
        if values.dtype.kind == "f" and np.isnan(values).any():
            out = [None if v != v else v for v in out]
        return out
    return [None if isinstance(v, float) and math.isnan(v) else v for v in values]


def _copy_text(value: Any) -> str:
    if value is None:
        return "\\N"
    if isinstance(value, float):
        return repr(value)
    text = str(value)
    if any(ch in text for ch in "\\\t\n\r"):
        text = (
            text.replace("\\", "\\\\")
            .replace("\t", "\\t")
            .replace("\n", "\\n")
            .replace("\r", "\\r")
        )
    return text


CHUNK = 20_000  # rows converted to Python values at a time (bounds the memory of a write)


def insert_columns(conn: Connection, table: Table, columns: Mapping[str, Any]) -> int:
    """Insert one row per index of the (equal-length) ``columns``; returns the row count.

    A column is a numpy array (NaN = NULL), a ``Nullable`` integer array, or a sequence.
    """
    names = list(columns)
    count = len(columns[names[0]]) if names else 0
    if count == 0:
        return 0
    raw = conn.connection.driver_connection
    if conn.dialect.name == "postgresql":
        sql = f"COPY {table.name} ({', '.join(names)}) FROM STDIN"
        with raw.cursor() as cur, cur.copy(sql) as copy:  # type: ignore[union-attr]
            for start in range(0, count, CHUNK):
                part = [_python(columns[n][start : start + CHUNK]) for n in names]
                text = [[_copy_text(v) for v in col] for col in part]
                copy.write("".join("\t".join(row) + "\n" for row in zip(*text, strict=True)))
        return count
    marks = ", ".join("?" for _ in names)
    cur = raw.cursor()  # type: ignore[union-attr]
    try:
        cur.execute(f"PRAGMA cache_size = -{SQLITE_CACHE_KB}")
        statement = f"INSERT INTO {table.name} ({', '.join(names)}) VALUES ({marks})"
        for start in range(0, count, CHUNK):
            part = [_python(columns[n][start : start + CHUNK]) for n in names]
            cur.executemany(statement, zip(*part, strict=True))
    finally:
        cur.close()
    return count


def delete_results(conn: Connection, set_id: int, unit_ids: Iterable[int] | None = None) -> None:
    """Drop the set's stored objects, attributes and frames (of ``unit_ids`` only, if given)."""
    if conn.dialect.name == "sqlite":
        conn.exec_driver_sql(f"PRAGMA cache_size = -{SQLITE_CACHE_KB}")
    for table in RESULT_TABLES:
        if unit_ids is None:
            conn.execute(delete(table).where(table.c.set_id == set_id))
            continue
        ids: Sequence[int] = sorted(set(unit_ids))
        for part in chunks(ids):
            conn.execute(
                delete(table).where(table.c.set_id == set_id, table.c.data_unit_id.in_(part))
            )


CountKey = tuple[int, int, int]  # (kind, sig, class_id)


def replace_counts(
    conn: Connection,
    set_id: int,
    added: Mapping[CountKey, int],
    unit_ids: Iterable[int] | None = None,
) -> None:
    """Make ``analysis_counts`` describe the set's objects after this write.

    A full write (``unit_ids`` None) stores ``added``; an incremental one takes the stored
    counts, minus those of the objects of ``unit_ids`` (call before ``delete_results``), plus
    ``added``. Integer arithmetic on exact counts, so it equals a full write's.
    """
    counts: dict[CountKey, int] = {}
    c, o = analysis_counts, analysis_objects
    if unit_ids is not None:
        stored = select(c.c.kind, c.c.sig, c.c.class_id, c.c.n).where(c.c.set_id == set_id)
        counts = {(k, s, cl): n for k, s, cl, n in conn.execute(stored)}
        for part in chunks(sorted(set(unit_ids))):
            gone = (
                select(o.c.kind, o.c.sig, o.c.class_id, func.count())
                .where(o.c.set_id == set_id, o.c.data_unit_id.in_(part))
                .group_by(o.c.kind, o.c.sig, o.c.class_id)
            )
            for k, s, cl, n in conn.execute(gone):
                counts[(k, s, cl)] = counts.get((k, s, cl), 0) - int(n)
    for key, n in added.items():
        counts[key] = counts.get(key, 0) + n
    conn.execute(delete(c).where(c.c.set_id == set_id))
    rows = [
        {"set_id": set_id, "kind": k, "sig": s, "class_id": cl, "n": n}
        for (k, s, cl), n in sorted(counts.items())
        if n
    ]
    if rows:
        conn.execute(c.insert(), rows)
