"""Bulk writes of a prediction set's per-frame counts and object attributes (the objects
themselves are columns: ``store.object_columns``).

Thousands of rows per run (one per frame, one per answered attribute): SQLite gets one
``executemany`` of plain tuples on the driver cursor, PostgreSQL one ``COPY`` (text format),
both inside the caller's transaction, so a run's results appear all at once when it commits.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray
from sqlalchemy import Connection, Table, delete, select

from predscope.store._util import chunks
from predscope.store.engine import Store
from predscope.store.schema import analysis_attributes, analysis_frames

RESULT_TABLES = (analysis_attributes, analysis_frames)
# The ``sig`` column (m0007): error_type * 5**10 + sum(o<t> * 5**t), outcome codes 0..4.
SIG_THRESHOLDS = 10
ERROR_FACTOR: int = 5**SIG_THRESHOLDS


def sig_outcome(sig: int, t: int) -> int:
    """The outcome code at threshold index ``t`` of a signature."""
    return (sig // int(5**t)) % 5


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


@dataclass(frozen=True)
class Stacked:
    """A column whose rows are those of ``head`` then those of ``tail`` (numpy arrays or
    ``Nullable``s, or sequences), never joined: ``take`` gathers the rows a chunk needs, so a
    write holds views of its sources instead of a copy of every column."""

    head: Any
    tail: Any

    def __len__(self) -> int:
        return len(self.head) + len(self.tail)

    def take(self, picks: NDArray[np.intp]) -> Any:
        n = len(self.head)
        if not isinstance(self.head, (np.ndarray, Nullable)):
            return [self.head[i] if i < n else self.tail[i - n] for i in picks.tolist()]
        in_tail = picks >= n
        head, tail = picks[~in_tail], picks[in_tail] - n
        if isinstance(self.head, Nullable):
            values = Stacked(self.head.values, self.tail.values)._gather(head, tail, in_tail)
            mask = Stacked(self.head.mask, self.tail.mask)._gather(head, tail, in_tail)
            return Nullable(values, mask)
        return self._gather(head, tail, in_tail)

    def _gather(self, head: Any, tail: Any, in_tail: NDArray[np.bool_]) -> Any:
        out = np.empty(in_tail.size, dtype=np.result_type(self.head.dtype, self.tail.dtype))
        out[~in_tail] = self.head[head]
        out[in_tail] = self.tail[tail]
        return out

    def __array__(self, dtype: Any = None, copy: Any = None) -> NDArray[Any]:
        out = np.concatenate([np.asarray(self.head), np.asarray(self.tail)])
        return out if dtype is None else out.astype(dtype)


def _python(values: Any) -> list[Any]:
    """A column as Python values; NaN becomes None (NULL) on both databases."""
    if isinstance(values, Nullable):
        boxed = values.values.astype(object)
        boxed[~values.mask] = None
        out: list[Any] = boxed.tolist()
        return out
    if isinstance(values, np.ndarray):
        if values.dtype.kind == "f" and np.isnan(values).any():
            boxed = values.astype(object)
            boxed[np.isnan(values)] = None
            return list(boxed.tolist())
        return list(values.tolist())
    return [None if isinstance(v, float) and math.isnan(v) else v for v in values]


def _sqlite_values(values: Any) -> Any:
    """``_python`` for SQLite's driver, which binds a float NaN as NULL itself: float columns
    need no NULL scan (the stored value is the same NULL)."""
    if isinstance(values, np.ndarray):
        return values.tolist()
    if isinstance(values, Nullable):
        return _python(values)
    return values


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


_COPY_SPECIAL = ("\\", "\t", "\n", "\r")


def _copy_column(values: Any) -> list[str]:
    """``[_copy_text(v) for v in _python(values)]``, a column at a time: ``str`` / ``repr``
    mapped over the whole column and NULLs (masked or NaN) put in place by one numpy
    assignment, instead of a Python call per value."""
    if isinstance(values, Nullable):
        boxed = np.array(list(map(str, values.values.tolist())), dtype=object)
        boxed[~values.mask] = "\\N"
        return list(boxed.tolist())
    if isinstance(values, np.ndarray) and values.dtype.kind in "iu":
        return list(map(str, values.tolist()))
    if isinstance(values, np.ndarray) and values.dtype.kind == "f":
        text = list(map(repr, values.tolist()))
        missing = np.flatnonzero(np.isnan(values))
        if missing.size:
            boxed = np.array(text, dtype=object)
            boxed[missing] = "\\N"
            return list(boxed.tolist())
        return text
    items = list(values)
    if all(type(v) is str for v in items):
        joined = "".join(items)
        if not any(ch in joined for ch in _COPY_SPECIAL):
            return items
    return [_copy_text(v) for v in _python(items)]


CHUNK = 20_000  # rows converted to Python values at a time (bounds the memory of a write)
# The write connection's page cache: large enough for the index pages a run's rows touch at
# 5,000 images (about 150 MB of table and index pages); a larger one only adds memory.
SQLITE_WRITE_CACHE_KB = 64 * 1024


def _part(values: Any, start: int, order: NDArray[np.intp] | None) -> Any:
    if order is None and not isinstance(values, Stacked):
        return values[start : start + CHUNK]
    if order is None:
        picks = np.arange(start, min(start + CHUNK, len(values)), dtype=np.intp)
    else:
        picks = order[start : start + CHUNK]
    if isinstance(values, Stacked):
        return values.take(picks)
    if isinstance(values, (np.ndarray, Nullable)):
        return values[picks]
    return [values[i] for i in picks.tolist()]


def insert_columns(
    conn: Connection,
    table: Table,
    columns: Mapping[str, Any],
    order: NDArray[np.intp] | None = None,
) -> int:
    """Insert one row per index of the (equal-length) ``columns``; returns the row count.

    A column is a numpy array (NaN = NULL), a ``Nullable`` integer array, a ``Stacked`` pair
    of those, or a sequence. ``order`` inserts the rows in that order (taken a chunk at a
    time, so the columns are never copied whole).
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
                text = [_copy_column(_part(columns[n], start, order)) for n in names]
                copy.write("\n".join(map("\t".join, zip(*text, strict=True))) + "\n")
        return count
    marks = ", ".join("?" for _ in names)
    cur = raw.cursor()  # type: ignore[union-attr]
    try:
        cur.execute(f"PRAGMA cache_size = -{SQLITE_WRITE_CACHE_KB}")
        statement = f"INSERT INTO {table.name} ({', '.join(names)}) VALUES ({marks})"
        for start in range(0, count, CHUNK):
            part = [_sqlite_values(_part(columns[n], start, order)) for n in names]
            cur.executemany(statement, zip(*part, strict=True))
    finally:
        cur.close()
    return count


def flush_on_commit(conn: Connection) -> None:
    """PostgreSQL only: the caller's transaction (a run's results) commits synchronously even
    where the server runs with ``synchronous_commit = off``.

    VACUUM marks a page all-visible only once the commit of its rows is flushed to the WAL (it
    checks their hint bits, which cannot be set before); after an asynchronous commit the
    ``refresh_statistics`` that follows at once left every page of a million objects unmarked,
    and every index-only scan of the query layer then read the table too (heap fetches).
    """
    if conn.dialect.name == "postgresql":
        conn.exec_driver_sql("SET LOCAL synchronous_commit = on")


def refresh_statistics(store: Store) -> None:
    """PostgreSQL only, after a run committed: ``VACUUM (ANALYZE)`` the result tables.

    The planner needs statistics of the new rows to pick the query layer's indexes, and
    index-only scans (the counts) need the visibility map that only VACUUM sets; autovacuum
    would get there within a minute or so, this gets there before the first query. Outside any
    transaction (VACUUM refuses to run inside one); it only reads and marks pages, so readers
    and writers carry on. SQLite needs neither: the query layer names its indexes.
    """
    if store.dialect != "postgresql":
        return
    with store.engine.connect() as conn:
        conn = conn.execution_options(isolation_level="AUTOCOMMIT")
        names = ", ".join(t.name for t in RESULT_TABLES)
        conn.exec_driver_sql(f"VACUUM (ANALYZE) {names}")


def _set_alone(conn: Connection, table: Table, set_id: int) -> bool:
    """Whether ``table`` holds rows of no other set (two seeks of its set_id-led index)."""
    for other in (table.c.set_id < set_id, table.c.set_id > set_id):
        if conn.execute(select(table.c.set_id).where(other).limit(1)).first() is not None:
            return False
    return True


def _empty_sqlite_table(conn: Connection, table: Table) -> list[str]:
    """Delete every row of ``table`` with its indexes dropped; returns their definitions.

    With foreign keys on, SQLite will not truncate a child table, so an unqualified DELETE
    still removes each row from each index (with fifteen indexes, as the object rows before
    m0011 had, 3.7 s at 350,000 rows; 0.3 s without them). The caller creates them again from
    these stored definitions (``create_indexes``), after its inserts: SQLite then builds each
    index by sorting, cheaper than adding the rows to each B-tree one at a time, and
    packs its pages full. All of it is DDL inside the caller's transaction: readers keep the
    previous rows and indexes until it commits, and a rollback restores both.
    """
    found = conn.exec_driver_sql(
        "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = ? "
        "AND sql IS NOT NULL ORDER BY name",
        (table.name,),
    ).all()
    for name, _ in found:
        conn.exec_driver_sql(f'DROP INDEX "{name}"')
    conn.exec_driver_sql(f"DELETE FROM {table.name}")
    return [str(sql) for _, sql in found]


def create_indexes(conn: Connection, definitions: Sequence[str]) -> None:
    """Create the indexes ``delete_results(..., defer_indexes=True)`` dropped."""
    for sql in definitions:
        conn.exec_driver_sql(sql)


def delete_results(
    conn: Connection,
    set_id: int,
    unit_ids: Iterable[int] | None = None,
    *,
    defer_indexes: bool = False,
) -> list[str]:
    """Drop the set's stored objects, attributes and frames (of ``unit_ids`` only, if given).

    On SQLite a table that holds this set's rows alone is emptied whole with its indexes
    dropped (``_empty_sqlite_table``) instead of row by row; they are created again here, or,
    with ``defer_indexes``, returned for the caller to pass to ``create_indexes`` once it
    has inserted the new rows (in the same transaction). PostgreSQL's DELETE leaves index
    cleanup to VACUUM already, and its TRUNCATE would lock readers out until the commit, so
    it deletes by set as before and returns nothing.
    """
    sqlite = conn.dialect.name == "sqlite"
    dropped: list[str] = []
    if sqlite:
        conn.exec_driver_sql(f"PRAGMA cache_size = -{SQLITE_WRITE_CACHE_KB}")
    for table in RESULT_TABLES:
        if unit_ids is None:
            if sqlite and _set_alone(conn, table, set_id):
                dropped += _empty_sqlite_table(conn, table)
            else:
                conn.execute(delete(table).where(table.c.set_id == set_id))
            continue
        ids: Sequence[int] = sorted(set(unit_ids))
        for part in chunks(ids):
            conn.execute(
                delete(table).where(table.c.set_id == set_id, table.c.data_unit_id.in_(part))
            )
    if not defer_indexes:
        create_indexes(conn, dropped)
        return []
    return dropped
