"""The query layer's data-unit pages: a set's frames with TP / FP / FN at a threshold, filtered
by those counts and sorted; of the given classes only, counted from the stored object columns.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from sqlalchemy import ColumnElement, Connection, and_, func, select

from predscope.store.analysis_query import member
from predscope.store.object_columns import open_columns
from predscope.store.schema import analysis_frames, data_units

f = analysis_frames


def _range(col: Any, lo: float | None, hi: float | None) -> list[ColumnElement[bool]]:
    out: list[ColumnElement[bool]] = []
    if lo is not None:
        out.append(col >= lo)
    if hi is not None:
        out.append(col <= hi)
    return out


FRAME_ORDER = ("tp", "fp", "fn", "num_gt", "num_predictions", "data_title", "frame")


def frame_page(
    conn: Connection,
    set_id: int,
    threshold: int,
    ranges: Mapping[str, tuple[int | None, int | None]],
    data_unit_id: int | None,
    class_ids: Sequence[int] | None,
    order: str,
    descending: bool,
    offset: int,
    limit: int,
) -> tuple[list[dict[str, Any]], int]:
    """Frames with TP / FP / FN at threshold t (of the given classes only, if any).

    Without classes: the stored per-frame counts, sorted by SQL. With classes: the classes'
    objects (a mask of the stored class column), counted per frame and sorted with numpy
    (``_class_frames``). Titles are looked up for the page only.
    """
    if class_ids is not None:
        page = slice(offset, offset + limit)
        rows, total = _class_frames(
            conn, set_id, threshold, ranges, data_unit_id, class_ids, order, descending, page
        )
    else:
        counts = [
            f.c[f"tp{threshold}"].label("tp"),
            f.c[f"fp{threshold}"].label("fp"),
            f.c[f"fn{threshold}"].label("fn"),
            f.c.num_gt,
            f.c.num_predictions,
        ]
        cols = {c.name: c for c in counts}
        conds: list[ColumnElement[bool]] = [f.c.set_id == set_id]
        for name, (lo, hi) in ranges.items():
            conds += _range(cols[name], lo, hi)
        if data_unit_id is not None:
            conds.append(f.c.data_unit_id == data_unit_id)
        source: Any = f
        key: Any = cols.get(order)
        if order == "frame":
            key = f.c.frame
        if order == "data_title":
            source = f.join(data_units, data_units.c.id == f.c.data_unit_id)
            key = data_units.c.data_title
        keys = [key, f.c.data_unit_id, f.c.frame]
        query = (
            select(f.c.data_unit_id, f.c.frame, f.c.width, f.c.height, *counts)
            .select_from(source)
            .where(and_(*conds))
            .order_by(*[k.desc() if descending else k.asc() for k in keys])
            .offset(offset)
            .limit(limit)
        )
        rows = [dict(m) for m in conn.execute(query).mappings()]
        count = select(func.count()).select_from(f).where(and_(*conds))
        total = int(conn.execute(count).scalar_one())
    units = sorted({r["data_unit_id"] for r in rows})
    lookup = select(data_units.c.id, data_units.c.data_hash, data_units.c.data_title).where(
        data_units.c.id.in_(units)
    )
    titles = {i: (h, t) for i, h, t in conn.execute(lookup)} if units else {}
    for r in rows:
        r["data_hash"], r["data_title"] = titles[r["data_unit_id"]]
    return rows, total


# The per-frame counts of a class filter, by (set's column token, threshold, unit, classes):
# paging through one filter, or changing only its ranges or sort, counts no objects again. The
# token changes with every write of the set's objects (and its frames, in the same
# transaction); each entry is a few int64 columns per frame (5.6 MB at 100,000 frames), so a
# few entries are kept.
_COUNTS: OrderedDict[tuple[Any, ...], tuple[np.ndarray, dict[str, np.ndarray]]] = OrderedDict()
_COUNTS_MAX = 6
_COUNTS_LOCK = threading.Lock()


def _class_counts(
    conn: Connection,
    set_id: int,
    threshold: int,
    data_unit_id: int | None,
    class_ids: Sequence[int],
) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Every frame of the set ([N, 2] unit id, frame) and its counts of the classes' objects."""
    cols = open_columns(conn, set_id)
    key = (None if cols is None else cols.token, threshold, data_unit_id, tuple(sorted(class_ids)))
    with _COUNTS_LOCK:
        hit = _COUNTS.get(key)
        if hit is not None:
            _COUNTS.move_to_end(key)
            return hit
    frames = select(f.c.data_unit_id, f.c.frame).where(f.c.set_id == set_id)  # index only
    if data_unit_id is not None:
        frames = frames.where(f.c.data_unit_id == data_unit_id)
    fr = np.array(conn.execute(frames).all(), dtype=np.int64).reshape(-1, 2)
    n = fr.shape[0]
    frame_key = fr[:, 0] * 2**32 + fr[:, 1]
    by_key = np.argsort(frame_key, kind="stable")
    counts: dict[str, np.ndarray] = {}
    # outcome codes: TP 1, FP 0 (``evaluation.results.Outcome``), an unmatched GT 4
    for kind, names in ((0, (("tp", 1), ("fp", 0))), (1, (("fn", 4),))):
        if cols is None:
            where, outcome = np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int8)
        else:
            rows = (
                cols.kind_range(kind)
                if data_unit_id is None
                else cols.unit_range(kind, data_unit_id)
            )
            picks = rows.start + np.flatnonzero(member(cols["class_id"][rows], class_ids))
            unit = cols["data_unit_id"][picks].astype(np.int64)
            pos = np.searchsorted(frame_key[by_key], unit * 2**32 + cols["frame"][picks])
            where = by_key[np.minimum(pos, max(n - 1, 0))] if n else pos
            outcome = cols[f"o{threshold}"][picks]
        for name, code in names:
            counts[name] = np.bincount(where[outcome == code], minlength=n)
        counts["num_predictions" if kind == 0 else "num_gt"] = np.bincount(where, minlength=n)
    cols_out = {name: counts[name] for name in ("tp", "fp", "fn", "num_gt", "num_predictions")}
    for column in (fr, *cols_out.values()):
        column.setflags(write=False)  # shared between requests
    with _COUNTS_LOCK:
        _COUNTS[key] = (fr, cols_out)
        while len(_COUNTS) > _COUNTS_MAX:
            _COUNTS.popitem(last=False)
    return fr, cols_out


def _class_frames(
    conn: Connection,
    set_id: int,
    threshold: int,
    ranges: Mapping[str, tuple[int | None, int | None]],
    data_unit_id: int | None,
    class_ids: Sequence[int],
    order: str,
    descending: bool,
    page: slice,
) -> tuple[list[dict[str, Any]], int]:
    """The page of the matching frames, sorted, with counts of the classes' objects only."""
    fr, cols = _class_counts(conn, set_id, threshold, data_unit_id, class_ids)
    n = fr.shape[0]
    keep = np.ones(n, dtype=np.bool_)
    for name, (lo, hi) in ranges.items():
        if lo is not None:
            keep &= cols[name] >= lo
        if hi is not None:
            keep &= cols[name] <= hi
    if order == "data_title":
        units = select(data_units.c.id, data_units.c.data_title).where(
            data_units.c.id.in_(sorted(set(fr[:, 0].tolist())))
        )
        title = dict(conn.execute(units).all()) if n else {}
        rank = {t: k for k, t in enumerate(sorted(set(title.values())))}
        primary = np.array([rank[title[u]] for u in fr[:, 0].tolist()], dtype=np.int64)
    else:
        primary = fr[:, 1] if order == "frame" else cols[order]
    picks = np.flatnonzero(keep)
    sort = np.lexsort((fr[picks, 1], fr[picks, 0], primary[picks]))
    picks = picks[sort[::-1] if descending else sort]
    rows = [
        {
            "data_unit_id": int(fr[i, 0]),
            "frame": int(fr[i, 1]),
            **{name: int(v[i]) for name, v in cols.items()},
        }
        for i in picks[page].tolist()
    ]
    if rows:  # sizes of the page's frames only
        sizes = select(f.c.data_unit_id, f.c.frame, f.c.width, f.c.height).where(
            f.c.set_id == set_id, f.c.data_unit_id.in_(sorted({r["data_unit_id"] for r in rows}))
        )
        size = {(u, fno): (w, h) for u, fno, w, h in conn.execute(sizes)}
        for r in rows:
            r["width"], r["height"] = size[(r["data_unit_id"], r["frame"])]
    return rows, int(picks.size)
