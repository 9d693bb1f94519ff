"""A prediction set's stored objects as typed columns: one array per column, stored as bytes.

Since m0010 a set's objects (hundreds of thousands per run) are not table rows: each column
(kind, unit, frame, class, confidence, outcomes per threshold, ...) is one numpy array written
as little-endian bytes in ``analysis_columns`` (split into parts under ``PART_BYTES``), and
``analysis_column_sets`` holds the set's row count and a fresh random ``token`` per write.
SQLite and PostgreSQL store the same bytes. Rows are in (kind, data unit, frame, seq) order, so
a data unit's objects are one contiguous range and an object's position is its identity (the
``id`` ties are broken by). A write replaces every column in the caller's transaction, so
readers see the previous columns until it commits.

Readers go through ``open_columns``: it reads the token (one indexed row) and returns
``ObjectColumns`` that load a column on first use. Loaded columns and anything derived from
them (sort orders, keys) are cached per process by token: a token never names other bytes,
so a cache entry can be stale only in never being used again.

Example:
    >>> cols = open_columns(conn, set_id)  # doctest: +SKIP
    >>> cols["confidence"][cols.kind_range(0)]  # doctest: +SKIP
"""

from __future__ import annotations

import threading
import uuid
from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import numpy as np
from numpy.typing import NDArray
from sqlalchemy import Connection, delete, select

from predscope.exceptions import StoreError
from predscope.store.schema import analysis_column_sets, analysis_columns

THRESHOLDS = 10
# Each stored column's dtype, little-endian. ``p<t>`` is -1 where an object has no partner at
# threshold t, ``i<t>`` / ``aspect_ratio`` / ``best_iou_any`` NaN where they have no value.
# ``object_hash`` is fixed-width bytes (the set's longest hash; ASCII in practice, UTF-8 always).
DTYPES: dict[str, str] = {
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
    **{f"o{t}": "<i1" for t in range(THRESHOLDS)},
    **{f"p{t}": "<i4" for t in range(THRESHOLDS)},
    **{f"i{t}": "<f8" for t in range(THRESHOLDS)},
}
# Partners and IoUs are empty for most objects (85% at 5,000 COCO-like images: FPs have none at
# any threshold): stored sparse, as the positions (<i4) of the values that are not empty and
# then those values, with the dtype marked ``~``; readers get the dense column back.
SPARSE = frozenset(name for name in DTYPES if name[0] in "pi" and name[1:].isdigit())
PART_BYTES = 64 * 1024 * 1024  # under SQLite's default 1 GB value limit, and PostgreSQL's
NO_PARTNER = -1


def _typed(name: str, values: Any) -> NDArray[Any]:
    spec = DTYPES.get(name)
    if spec is None:
        raise StoreError(f"object columns: {name!r} is not a stored column")
    if spec == "S":
        return _utf8(values)
    return np.ascontiguousarray(np.asarray(values).astype(spec, copy=False))


def _utf8(values: Any) -> NDArray[np.bytes_]:
    """Strings as fixed-width UTF-8 bytes: numpy's ASCII conversion (fast) where it can,
    ``str.encode`` where a string is not ASCII."""
    if isinstance(values, np.ndarray) and values.dtype.kind == "S":
        return np.ascontiguousarray(values)
    items = values.tolist() if isinstance(values, np.ndarray) else list(values)
    if not items:
        return np.zeros(0, dtype="S1")
    try:
        return np.array(items, dtype="S")
    except UnicodeEncodeError:
        return np.array([str(v).encode("utf-8") for v in items], dtype="S")


def storage_order(
    kind: NDArray[Any], unit: NDArray[Any], frame: NDArray[Any], seq: NDArray[Any]
) -> NDArray[np.intp] | None:
    """The permutation that puts rows in storage order; None when they are in it already."""
    order: NDArray[np.intp] = np.lexsort((seq, frame, unit, kind))
    if order.size and np.any(np.diff(order) < 0):
        return order
    return None


def write_columns(
    conn: Connection,
    set_id: int,
    count: int,
    columns: Iterable[tuple[str, Any]],
) -> str:
    """Replace the set's stored columns, inside the caller's transaction; returns the token.

    ``columns`` yields (name, values in storage order) once per name of ``DTYPES``: a generator
    lets the caller build one column at a time, so a write holds one column's copy, not all.
    """
    delete_columns(conn, set_id)
    seen: set[str] = set()
    for name, values in columns:
        array = _typed(name, values)
        if array.shape[0] != count or name in seen:
            raise StoreError(
                f"object columns: {name!r} has {array.shape[0]} rows for {count} objects"
                + (" (given twice)" if name in seen else "")
            )
        seen.add(name)
        data, dtype = _encoded(name, array)
        parts = [
            {
                "set_id": set_id,
                "name": name,
                "part": part,
                "dtype": dtype,
                "data": bytes(data[start : start + PART_BYTES]),
            }
            for part, start in enumerate(range(0, max(len(data), 1), PART_BYTES))
        ]
        conn.execute(analysis_columns.insert(), parts)
        del data, array, parts
    missing = [name for name in DTYPES if name not in seen]
    if missing:
        raise StoreError(f"object columns: missing {', '.join(missing)}")
    token = uuid.uuid4().hex
    conn.execute(analysis_column_sets.insert().values(set_id=set_id, token=token, count=count))
    return token


def _empty(array: NDArray[Any]) -> NDArray[np.bool_]:
    out: NDArray[np.bool_] = np.isnan(array) if array.dtype.kind == "f" else array == NO_PARTNER
    return out


def _encoded(name: str, array: NDArray[Any]) -> tuple[memoryview, str]:
    """A column's stored bytes and dtype tag (``SPARSE`` columns: positions, then values)."""
    if name not in SPARSE:
        return array.reshape(-1).view(np.uint8).data, array.dtype.str
    where = np.flatnonzero(~_empty(array)).astype("<i4")
    data = np.concatenate([where.view(np.uint8), array[where].view(np.uint8)])
    return data.data, "~" + array.dtype.str


def _decoded(name: str, data: bytes, tag: str, count: int) -> NDArray[Any]:
    if not tag.startswith("~"):
        return np.frombuffer(data, dtype=np.dtype(tag)) if data else np.zeros(0, dtype=tag)
    dtype = np.dtype(tag[1:])
    k = len(data) // (4 + dtype.itemsize)
    where = np.frombuffer(data, dtype="<i4", count=k)
    out = np.full(count, np.nan if dtype.kind == "f" else NO_PARTNER, dtype=dtype)
    out[where] = np.frombuffer(data, dtype=dtype, offset=4 * k)
    return out


def delete_columns(conn: Connection, set_id: int) -> None:
    conn.execute(delete(analysis_columns).where(analysis_columns.c.set_id == set_id))
    conn.execute(delete(analysis_column_sets).where(analysis_column_sets.c.set_id == set_id))


class _Cache:
    """Loaded columns and derived arrays by (token, key); the least recently used tokens go
    first once more than ``budget`` bytes are held."""

    def __init__(self, budget: int = 2 * 1024**3) -> None:
        self.budget = budget
        self.entries: OrderedDict[str, dict[str, Any]] = OrderedDict()
        self.lock = threading.Lock()

    def get(self, token: str, key: str) -> Any:
        with self.lock:
            entry = self.entries.get(token)
            if entry is None or key not in entry:
                return None
            self.entries.move_to_end(token)
            return entry[key]

    def put(self, token: str, key: str, value: Any) -> None:
        with self.lock:
            self.entries.setdefault(token, {})[key] = value
            self.entries.move_to_end(token)
            while len(self.entries) > 1 and self._size() > self.budget:
                self.entries.popitem(last=False)

    def _size(self) -> int:
        return sum(
            getattr(v, "nbytes", 0) for entry in self.entries.values() for v in entry.values()
        )


_CACHE = _Cache()


class ObjectColumns:
    """A set's stored columns as of its token; ``cols[name]`` loads a column (read-only)."""

    def __init__(self, conn: Connection, set_id: int, token: str, count: int) -> None:
        self.conn, self.set_id, self.token, self.count = conn, set_id, token, count

    def __getitem__(self, name: str) -> NDArray[Any]:
        found = _CACHE.get(self.token, name)
        if found is None:
            found = self._load(name)
            _CACHE.put(self.token, name, found)
        out: NDArray[Any] = found
        return out

    def load(self, names: Iterable[str]) -> dict[str, NDArray[Any]]:
        return {name: self[name] for name in names}

    def _load(self, name: str) -> NDArray[Any]:
        if name not in DTYPES:
            raise StoreError(f"object columns: {name!r} is not a stored column")
        c = analysis_columns.c
        query = (
            select(c.dtype, c.data)
            .where(c.set_id == self.set_id, c.name == name)
            .order_by(c.part)
        )
        parts = self.conn.execute(query).all()
        if not parts:
            raise StoreError(
                f"analysis set {self.set_id}: stored column {name!r} is missing - re-run the "
                "analysis with --full"
            )
        data = b"".join(bytes(p[1]) for p in parts)
        array = _decoded(name, data, str(parts[0][0]), self.count)
        if array.shape[0] != self.count:
            raise StoreError(
                f"analysis set {self.set_id}: stored column {name!r} holds {array.shape[0]} "
                f"values for {self.count} objects - re-run the analysis with --full"
            )
        array.flags.writeable = False
        return array

    def derived(self, key: str, build: Callable[[ObjectColumns], Any]) -> Any:
        """``build(self)``, computed once per token (sort orders, keys)."""
        found = _CACHE.get(self.token, "derived:" + key)
        if found is None:
            found = build(self)
            _CACHE.put(self.token, "derived:" + key, found)
        return found

    def kind_range(self, kind: int) -> slice:
        """The rows of one kind (0 prediction, 1 ground truth): a contiguous range."""

        def bounds(cols: ObjectColumns) -> NDArray[np.int64]:
            kinds = cols["kind"]
            return np.searchsorted(kinds, np.arange(3), side="left").astype(np.int64)

        edges = self.derived("kind_edges", bounds)
        return slice(int(edges[kind]), int(edges[kind + 1]))

    def unit_range(self, kind: int, data_unit_id: int) -> slice:
        """The rows of one kind on one data unit (contiguous)."""
        rows = self.kind_range(kind)
        units = self["data_unit_id"][rows]
        lo = int(np.searchsorted(units, data_unit_id, side="left"))
        hi = int(np.searchsorted(units, data_unit_id, side="right"))
        return slice(rows.start + lo, rows.start + hi)

    def positions(self, kind: int, keys: NDArray[np.int64]) -> NDArray[np.int64]:
        """Row positions of (data unit, frame, seq) keys ([N, 3]) of one kind; -1 where no such
        object is stored."""
        rows = self.kind_range(kind)
        frame_key = self.derived(f"frame_key:{kind}", lambda c: _frame_key(c, rows))
        keys = np.asarray(keys, dtype=np.int64).reshape(-1, 3)
        wanted = (keys[:, 0] << 32) | keys[:, 1]
        start = np.searchsorted(frame_key, wanted, side="left")
        pos = start + keys[:, 2]
        ok = (keys[:, 2] >= 0) & (pos < frame_key.size)
        ok[ok] &= frame_key[pos[ok]] == wanted[ok]
        return np.where(ok, pos + rows.start, -1)


def _frame_key(cols: ObjectColumns, rows: slice) -> NDArray[np.int64]:
    unit = cols["data_unit_id"][rows].astype(np.int64)
    frame = cols["frame"][rows].astype(np.int64)
    out: NDArray[np.int64] = (unit << 32) | frame
    return out


def open_columns(conn: Connection, set_id: int) -> ObjectColumns | None:
    """The set's columns as stored now (in the caller's read snapshot); None before any run
    wrote them."""
    s = analysis_column_sets.c
    found = conn.execute(select(s.token, s.count).where(s.set_id == set_id)).first()
    if found is None:
        return None
    return ObjectColumns(conn, set_id, str(found[0]), int(found[1]))


def null_where(values: NDArray[Any], name: str) -> list[Any]:
    """A column's values as Python values with its empty marker (NaN, ``NO_PARTNER``) as None."""
    out: list[Any] = values.tolist()
    if name.startswith("p") and name[1:].isdigit():
        return [None if v == NO_PARTNER else v for v in out]
    if values.dtype.kind == "f":
        return [None if v != v else v for v in out]
    if values.dtype.kind == "S":
        return [v.decode("utf-8") for v in out]
    return out


def object_rows(
    conn: Connection, set_id: int, picks: NDArray[np.intp] | None = None
) -> list[dict[str, Any]]:
    """Objects as dicts of Python values (``id`` = position; None where a value is empty), of
    ``picks`` or all: the page items' source, and what tests compare."""
    cols = open_columns(conn, set_id)
    if cols is None:
        return []
    index = np.arange(cols.count) if picks is None else np.asarray(picks, dtype=np.intp)
    values = {name: null_where(cols[name][index], name) for name in DTYPES}
    ids = index.tolist()
    return [
        {"id": ids[i], **{name: values[name][i] for name in DTYPES}} for i in range(len(ids))
    ]


def _flat(values: Any) -> NDArray[Any]:
    """One column as a plain array: a ``Stacked`` pair joined, a ``Nullable``'s NULLs as
    ``NO_PARTNER`` (the only nullable integer columns are the partners)."""
    from predscope.store.analysis_objects import Nullable, Stacked

    if isinstance(values, Stacked):
        head, tail = values.head, values.tail
        if not isinstance(head, (np.ndarray, Nullable)):  # strings: one list, encoded once
            return _utf8([*head, *tail])
        return np.concatenate([_flat(head), _flat(tail)])
    if isinstance(values, Nullable):
        out: NDArray[Any] = np.where(values.mask, values.values, NO_PARTNER)
        return out
    if isinstance(values, np.ndarray):
        return values
    return np.asarray(list(values))


def replace_objects(
    conn: Connection,
    set_id: int,
    new: Mapping[str, Any],
    unit_ids: Iterable[int] | None = None,
) -> str:
    """Store the set's objects after a run, inside its transaction; returns the new token.

    A full run (``unit_ids`` None) stores ``new`` alone; an incremental one keeps the stored
    objects of every other data unit and splices ``new`` in (the same rows, in the same order,
    as a full run's, since the order is the data's own key). ``new``'s columns may be numpy
    arrays, ``Stacked`` pairs or ``Nullable`` partners; one column is built at a time.
    """
    old: ObjectColumns | None = None
    keep: NDArray[np.bool_] | None = None
    if unit_ids is not None:
        old = open_columns(conn, set_id)
        if old is None:
            raise StoreError(
                f"analysis set {set_id}: no stored objects to update - re-run with --full"
            )
        changed = np.fromiter(unit_ids, dtype=np.int64)
        keep = ~np.isin(old["data_unit_id"], changed)
        old.load(DTYPES)  # every column read before ``write_columns`` deletes the stored ones

    def joined(name: str) -> NDArray[Any]:
        part = _typed(name, _flat(new[name]))
        if old is None or keep is None:
            return part
        return np.concatenate([old[name][keep], part])

    keys = {name: joined(name) for name in ("kind", "data_unit_id", "frame", "seq")}
    order = storage_order(*keys.values())
    count = int(keys["kind"].shape[0])

    written: dict[str, NDArray[Any]] = {}

    def ordered() -> Iterable[tuple[str, NDArray[Any]]]:
        for name in DTYPES:
            values = keys.pop(name) if name in keys else joined(name)
            values = values if order is None else values[order]
            if old is not None:
                written[name] = values
            yield name, values

    token = write_columns(conn, set_id, count, ordered())
    # An incremental run's process (the server's) reads these next: cache them under the new
    # token now. Should the transaction roll back, no reader ever sees that token. A full run
    # leaves them out, as its peak memory matters more than one reload.
    for name, values in written.items():
        values.flags.writeable = False
        _CACHE.put(token, name, values)
    return token
