"""A prediction set's stored objects as typed columns: one array per column, stored as bytes.

Since m0011 a set's objects (hundreds of thousands per run) are not table rows: each column
(kind, unit, frame, class, confidence, outcomes per threshold, ...) is a numpy array stored as
little-endian bytes in ``analysis_columns``, one row per column and **block**: the objects of a
kind on a range of data units (about ``BLOCK_ROWS`` objects, whole units). Rows are in (kind,
data unit, frame, seq) order, so a data unit's objects are one contiguous range and an
object's position is its identity (the ``id`` ties are broken by). ``analysis_column_sets``
holds the set's object count, the blocks' unit bounds and a fresh random ``token`` per write.
SQLite and PostgreSQL store the same bytes. ``store.column_writes`` writes them: a full run
every block, an incremental one only those blocks of the units it re-matched whose bytes
changed (a confidence edited on one image: a dozen columns' blocks, not the whole set).

Readers go through ``open_columns``: it reads the token (one indexed row) and returns
``ObjectColumns`` that assemble a column on first use. Assembled columns and anything derived
from them (sort orders, keys) are cached per process by token; each block row carries the token
of the write that stored it, so the next assembly of a set re-reads only the blocks that
changed. A token never names other bytes: a cache entry can be stale only in never being used.

Example:
    >>> cols = open_columns(conn, set_id)  # doctest: +SKIP
    >>> cols["confidence"][cols.kind_range(0)]  # doctest: +SKIP
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable
from typing import Any

import numpy as np
from numpy.typing import NDArray
from sqlalchemy import Connection, select

from predscope.exceptions import StoreError
from predscope.store._util import chunks
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
NO_PARTNER = -1
# Objects per block, both kinds together; a block holds whole data units, so a unit with more
# objects (a long video) makes its block larger. Its bytes stay far under SQLite's 1 GB value
# limit and PostgreSQL's: 8,192 objects are 64 KB of a float64 column. An incremental run reads,
# splices and rewrites its units' blocks of every column, so smaller blocks make it cheaper
# (measured at 5,000 images: 65 ms at 32,768, 51 ms at 8,192, 48 ms at 4,096) and a full
# run's write dearer (0.26, 0.30, 0.34 s: more rows); 8,192 is the balance.
BLOCK_ROWS = 8192
KIND_STRIDE = 1 << 24  # a block row's ``part``: kind * KIND_STRIDE + block, in storage order


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
    """The permutation that puts rows in storage order; None when they are in it already (a
    run's rows usually are: checked by comparing neighbours, cheaper than sorting)."""
    keys = [np.asarray(k, dtype=np.int64) for k in (kind, unit, frame, seq)]
    ordered = np.ones(max(keys[0].size - 1, 0), dtype=np.bool_)
    for key in reversed(keys):  # row i <= row i + 1: by the first key that differs
        step = np.diff(key)
        ordered = (step > 0) | ((step == 0) & ordered)
    if ordered.all():
        return None
    order: NDArray[np.intp] = np.lexsort(tuple(keys[::-1]))
    return order


def block_bounds(unit: NDArray[Any]) -> NDArray[np.int64]:
    """The first data unit id of every block after the first, for rows of ``unit`` ids."""
    units, counts = np.unique(np.asarray(unit, dtype=np.int64), return_counts=True)
    block = (np.cumsum(counts) - counts) // BLOCK_ROWS
    out: NDArray[np.int64] = units[np.flatnonzero(np.diff(block)) + 1]
    return out


def _part_ids(kind: NDArray[Any], unit: NDArray[Any], bounds: NDArray[np.int64]) -> NDArray[Any]:
    block = np.searchsorted(bounds, np.asarray(unit, dtype=np.int64), side="right")
    out: NDArray[Any] = np.asarray(kind, dtype=np.int64) * KIND_STRIDE + block
    return out


def _block_ranges(parts: NDArray[Any]) -> list[tuple[int, int, int]]:
    """(start, end, part) of each block of rows in storage order (``parts`` never decreases):
    computed once per write, for all of its columns."""
    cuts = np.flatnonzero(np.diff(parts)) + 1
    starts, ends = np.r_[0, cuts].tolist(), np.r_[cuts, parts.size].tolist()
    return [(a, b, int(parts[a])) for a, b in zip(starts, ends, strict=True) if b > a]


def _stored_raw(
    conn: Connection, set_id: int, parts: Iterable[int], names: Iterable[str] | None = None
) -> dict[tuple[str, int], tuple[str, int, bytes]]:
    """The stored (dtype tag, count, bytes) of blocks ``parts`` of the set's columns (of
    ``names``, or all), by (name, part)."""
    c = analysis_columns.c
    out: dict[tuple[str, int], tuple[str, int, bytes]] = {}
    for chunk in chunks(sorted(set(parts))):
        query = select(c.name, c.part, c.dtype, c.count, c.data).where(
            c.set_id == set_id, c.part.in_(chunk)
        )
        if names is not None:
            query = query.where(c.name.in_(list(names)))
        for name, part, tag, count, data in conn.execute(query):
            out[(str(name), int(part))] = (str(tag), int(count), bytes(data))
    return out


def _stored_blocks(
    conn: Connection, set_id: int, parts: Iterable[int], names: Iterable[str] | None = None
) -> dict[str, dict[int, NDArray[Any]]]:
    """The decoded blocks ``parts`` of the set's columns (of ``names``, or all), by name."""
    out: dict[str, dict[int, NDArray[Any]]] = {}
    for (name, part), (tag, count, data) in _stored_raw(conn, set_id, parts, names).items():
        out.setdefault(name, {})[part] = _decoded(name, data, tag, count)
    return out


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


def _nothing(name: str) -> NDArray[Any]:
    spec = DTYPES[name]
    return np.zeros(0, dtype="S1" if spec == "S" else spec)


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
# (store URL, set id, column) -> the token of the column's latest assembly in this process:
# where the next assembly looks for blocks it need not read again (their tokens tell; a stale
# entry only means reading every block). Per column: a reader that assembles ``kind`` under
# a new token must not hide the ``confidence`` assembled under the previous one.
_LATEST: dict[tuple[str, int, str], str] = {}


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
        """Assemble a column from its blocks; blocks whose token matches the set's previous
        assembly in this process are taken from it, only the others are read."""
        if name not in DTYPES:
            raise StoreError(f"object columns: {name!r} is not a stored column")
        c = analysis_columns.c
        listing = self.conn.execute(
            select(c.part, c.token, c.count)
            .where(c.set_id == self.set_id, c.name == name)
            .order_by(c.part)
        ).all()
        if not listing and self.count:
            raise StoreError(
                f"analysis set {self.set_id}: stored column {name!r} is missing - re-run the "
                "analysis with --full"
            )
        home = (str(self.conn.engine.url), self.set_id, name)
        previous = _LATEST.get(home)
        layout = _CACHE.get(previous, "layout:" + name) if previous else None
        before = _CACHE.get(previous, name) if previous else None
        reuse: dict[int, NDArray[Any]] = {}
        if layout is not None and before is not None:
            for part, token, count in listing:
                if layout.get(int(part), (None,))[0] == token:
                    start = layout[int(part)][1]
                    reuse[int(part)] = before[start : start + int(count)]
        missing = [int(p) for p, _, _ in listing if int(p) not in reuse]
        fetched = _stored_blocks(self.conn, self.set_id, missing, [name]).get(name, {})
        found = [reuse.get(int(p), fetched.get(int(p))) for p, _, _ in listing]
        pieces = [piece for piece in found if piece is not None]
        if len(pieces) < len(found):
            raise StoreError(
                f"analysis set {self.set_id}: a block of column {name!r} changed while it was "
                "read - read again"
            )
        array = np.concatenate(pieces) if pieces else _nothing(name)
        if array.shape[0] != self.count:
            raise StoreError(
                f"analysis set {self.set_id}: stored column {name!r} holds {array.shape[0]} "
                f"values for {self.count} objects - re-run the analysis with --full"
            )
        array.flags.writeable = False
        starts = np.cumsum([0] + [int(n) for _, _, n in listing])
        _CACHE.put(
            self.token,
            "layout:" + name,
            {int(p): (t, int(starts[i])) for i, (p, t, _) in enumerate(listing)},
        )
        _LATEST[home] = self.token
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
    return [{"id": ids[i], **{name: values[name][i] for name in DTYPES}} for i in range(len(ids))]
