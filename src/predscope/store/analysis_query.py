"""The query layer's object pages: a set's stored objects (``store.object_columns``) filtered
with numpy masks, counted, sorted and paged (the frames of the data-unit pages:
``store.analysis_frame_query``).

Every filter is a boolean mask over one kind's rows (a contiguous range; a data unit's rows a
range inside it), so the total is the mask's count. The page is ordered by one column with ties
by (class_id, id) in the sort's direction, objects without a value (NaN) after the rest in
either direction. Which way it is found:

* few matches (at most ``FEW``): sort the matches themselves;
* many: walk the kind's cached order by the column (``_Order``, built once per stored token)
  with the mask, stopping at the page (dense matches fill it at once);
* many that the walk does not reach within ``WALK_BUDGET`` rows (the matches lie at the other
  end of the order): the matches' ranks in the cached order, the page's smallest picked with
  ``np.partition``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray
from sqlalchemy import Connection, select

from predscope.store.object_columns import ObjectColumns, object_rows, open_columns
from predscope.store.schema import analysis_attributes, data_units

FEW = 2000  # at most this many matches: sort them directly
WALK_BUDGET = 200_000  # rows of the cached order a page may walk before it ranks the matches
WALK_FIRST = 4096  # rows read by the walk's first step at least (then doubling)


@dataclass(frozen=True)
class ObjectFilter:
    set_id: int
    kind: int
    threshold: int
    outcomes: Sequence[int] | None = None
    class_ids: Sequence[int] | None = None
    error_types: Sequence[int] | None = None
    min_confidence: float | None = None
    max_confidence: float | None = None
    min_iou: float | None = None
    max_iou: float | None = None
    ranges: Mapping[str, tuple[float | None, float | None]] | None = None
    attributes: Mapping[str, Sequence[str]] | None = None
    data_unit_id: int | None = None


def member(values: NDArray[Any], wanted: Sequence[int]) -> NDArray[np.bool_]:
    """Where ``values`` is one of ``wanted`` (one value: a plain comparison)."""
    wanted = list(wanted)
    if len(wanted) == 1:
        out: NDArray[np.bool_] = values == wanted[0]
        return out
    return np.isin(values, wanted)


def _within(values: NDArray[Any], lo: float | None, hi: float | None) -> NDArray[np.bool_]:
    """Inclusive bounds; NaN is in no range."""
    out = np.ones(values.shape[0], dtype=np.bool_) if lo is None else values >= lo
    if hi is not None:
        out &= values <= hi
    return out


def _attribute_rows(
    conn: Connection, cols: ObjectColumns, q: ObjectFilter, rows: slice
) -> NDArray[np.bool_]:
    """The rows (of ``rows``) with every named attribute at one of its values, from
    ``analysis_attributes`` (keyed by (unit, frame, seq), mapped to positions)."""
    a = analysis_attributes.c
    out = np.ones(rows.stop - rows.start, dtype=np.bool_)
    for name, values in (q.attributes or {}).items():
        query = select(a.data_unit_id, a.frame, a.seq).where(
            a.set_id == q.set_id, a.kind == q.kind, a.name == name, a.value.in_(list(values))
        )
        if q.data_unit_id is not None:
            query = query.where(a.data_unit_id == q.data_unit_id)
        keys = np.array(conn.execute(query).all(), dtype=np.int64).reshape(-1, 3)
        pos = cols.positions(q.kind, keys) - rows.start
        pos = pos[(pos >= 0) & (pos < out.size)]
        has = np.zeros(out.size, dtype=np.bool_)
        has[pos] = True
        out &= has
    return out


def _mask(
    conn: Connection, cols: ObjectColumns, q: ObjectFilter, rows: slice
) -> NDArray[np.bool_] | None:
    """The filters over ``rows``; None when there are none (every row matches)."""
    parts: list[NDArray[np.bool_]] = []
    if q.outcomes is not None:
        parts.append(member(cols[f"o{q.threshold}"][rows], q.outcomes))
    if q.class_ids is not None:
        parts.append(member(cols["class_id"][rows], q.class_ids))
    if q.error_types is not None:
        parts.append(member(cols["error_type"][rows], q.error_types))
    bounds = [
        ("confidence", q.min_confidence, q.max_confidence),
        (f"i{q.threshold}", q.min_iou, q.max_iou),
        *((name, lo, hi) for name, (lo, hi) in (q.ranges or {}).items()),
    ]
    for name, lo, hi in bounds:
        if lo is not None or hi is not None:
            parts.append(_within(cols[name][rows], lo, hi))
    if q.attributes:
        parts.append(_attribute_rows(conn, cols, q, rows))
    if not parts:
        return None
    out = parts[0].copy() if len(parts) == 1 else parts[0] & parts[1]
    for part in parts[2:]:
        out &= part
    return out


def _sort(values: NDArray[Any], classes: NDArray[Any]) -> tuple[NDArray[np.intp], int]:
    """(ascending order of rows by (value, class, position), NaN last; how many have a value).

    ``np.lexsort`` is stable, so rows given in position order keep it among equal keys."""
    order: NDArray[np.intp] = np.lexsort((classes, values))
    valued = (
        int(values.shape[0] - np.count_nonzero(np.isnan(values)))
        if values.dtype.kind == "f"
        else values.shape[0]
    )
    return order, valued


def _direction(order: NDArray[Any], valued: int, descending: bool) -> NDArray[Any]:
    """The ascending ``order`` in the page's direction: the valued rows reversed, then the
    rows without a value reversed (they stay last)."""
    if not descending:
        return order
    return np.concatenate([order[:valued][::-1], order[valued:][::-1]])


@dataclass(frozen=True)
class _Order:
    """One kind's rows (positions relative to its range) ordered by one column, ascending
    and descending, and each row's rank in the ascending order."""

    ascending: NDArray[np.int32]
    descending: NDArray[np.int32]
    rank: NDArray[np.int32]
    valued: int

    @property
    def nbytes(self) -> int:  # what the column cache counts against its budget
        return int(self.ascending.nbytes + self.descending.nbytes + self.rank.nbytes)


def _order(cols: ObjectColumns, kind: int, column: str) -> _Order:
    def build(c: ObjectColumns) -> _Order:
        rows = c.kind_range(kind)
        order, valued = _sort(c[column][rows], c["class_id"][rows])
        ascending = order.astype(np.int32)
        rank = np.empty(ascending.size, dtype=np.int32)
        rank[ascending] = np.arange(ascending.size, dtype=np.int32)
        descending = _direction(ascending, valued, True)
        for array in (ascending, descending, rank):
            array.flags.writeable = False
        return _Order(ascending, descending, rank, valued)

    found: _Order = cols.derived(f"order:{kind}:{column}", build)
    return found


def _walk(order: NDArray[np.int32], mask: NDArray[np.bool_], need: int, total: int) -> Any:
    """The first ``need`` matching rows of ``order``; None past ``WALK_BUDGET`` rows read."""
    step = max(WALK_FIRST, 2 * need * order.size // max(total, 1))
    found: list[NDArray[np.int32]] = []
    got = start = 0
    while got < need and start < order.size:
        if start >= WALK_BUDGET:
            return None
        block = order[start : start + step]
        hits = block[mask[block]]
        found.append(hits)
        got += hits.size
        start += step
        step *= 2
    return np.concatenate(found)[:need]


def _ranked(o: _Order, matches: NDArray[np.intp], descending: bool, need: int) -> NDArray[np.int32]:
    """The first ``need`` of ``matches`` in the page's order, by their cached ranks."""
    rank = o.rank[matches]
    if descending:  # the rank in the descending order, from the ascending one
        n, valued = o.rank.size, o.valued
        rank = np.where(rank < valued, valued - 1 - rank, valued + n - 1 - rank)
    if need < rank.size:
        rank = np.partition(rank, need - 1)[:need]
    rank.sort()
    found: NDArray[np.int32] = (o.descending if descending else o.ascending)[rank]
    return found


def _matches(rows: slice, mask: NDArray[np.bool_] | None) -> NDArray[np.intp]:
    """Storage positions of the rows where ``mask`` holds (all of them without one)."""
    if mask is None:
        return np.arange(rows.start, rows.stop, dtype=np.intp)
    out: NDArray[np.intp] = rows.start + np.flatnonzero(mask)
    return out


def page_positions(
    cols: ObjectColumns,
    kind: int,
    rows: slice,
    mask: NDArray[np.bool_] | None,
    column: str,
    descending: bool,
    offset: int,
    limit: int,
) -> tuple[NDArray[np.intp], int]:
    """(storage positions of the page's objects in order, total matches) of ``rows`` (one
    kind's, or a range inside them) where ``mask`` holds."""
    total = rows.stop - rows.start if mask is None else int(np.count_nonzero(mask))
    need = offset + limit
    if total == 0 or offset >= total:
        return np.zeros(0, dtype=np.intp), total
    base = cols.kind_range(kind).start
    if total <= FEW:
        matches = _matches(rows, mask)
        order, valued = _sort(cols[column][matches], cols["class_id"][matches])
        found = matches[_direction(order, valued, descending)[offset:need]]
        return found.astype(np.intp), total
    o = _order(cols, kind, column)
    whole = rows == cols.kind_range(kind)
    picked: Any = None
    if mask is None and whole:
        picked = (o.descending if descending else o.ascending)[offset:need]
    elif whole:
        assert mask is not None
        picked = _walk(o.descending if descending else o.ascending, mask, need, total)
        if picked is not None:
            picked = picked[offset:]
    if picked is None:
        picked = _ranked(o, _matches(rows, mask) - base, descending, need)[offset:]
    return base + picked.astype(np.intp), total


def object_page(
    conn: Connection, q: ObjectFilter, column: str, descending: bool, offset: int, limit: int
) -> tuple[list[dict[str, Any]], int]:
    """(rows of the page with data_hash and data_title, total matching rows)."""
    cols = open_columns(conn, q.set_id)
    if cols is None:
        return [], 0
    if q.data_unit_id is not None:
        rows = cols.unit_range(q.kind, q.data_unit_id)
    else:
        rows = cols.kind_range(q.kind)
    mask = _mask(conn, cols, q, rows)
    picks, total = page_positions(cols, q.kind, rows, mask, column, descending, offset, limit)
    if picks.size == 0:
        return [], total
    found = object_rows(conn, q.set_id, picks)
    units = sorted({r["data_unit_id"] for r in found})
    u = data_units.c
    titles = {
        i: (h, t)
        for i, h, t in conn.execute(select(u.id, u.data_hash, u.data_title).where(u.id.in_(units)))
    }
    for r in found:
        r["data_hash"], r["data_title"] = titles[r["data_unit_id"]]
    return found, total


def partners(
    conn: Connection, set_id: int, kind: int, keys: Sequence[tuple[int, int, int]]
) -> dict[tuple[int, int, int], str]:
    """Object hashes of ``kind`` at (data unit, frame, seq) keys (the partners of a page)."""
    cols = open_columns(conn, set_id)
    if not keys or cols is None:
        return {}
    wanted = sorted(set(keys))
    pos = cols.positions(kind, np.array(wanted, dtype=np.int64))
    hashes = cols["object_hash"]
    return {
        key: hashes[p].decode("utf-8")
        for key, p in zip(wanted, pos.tolist(), strict=True)
        if p >= 0
    }
