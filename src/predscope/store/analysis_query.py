"""The SQL of the query layer: filtered, sorted pages of stored objects, with totals (the
frames of the data-unit pages: ``store.analysis_frame_query``).

Every filter is a plain predicate on one stored row. Outcome-at-threshold and error-type filters
become ``sig IN (...)`` over the signatures the set holds (``analysis_counts``, m0007), which
also gives the exact total of any outcome / error / class filter without counting rows. A page
is found in two steps: the ids of the page from one index, then those rows. Which index:

* a data unit: its own index (a few hundred objects);
* few matching objects (at most ``SMALL`` by the counts): the narrowest index (signature or
  class), then sort them;
* many: the covering index ordered by the sort key (confidence, area, or IoU at t: a partial
  index of the matched objects), filtering signature and class inside the index, stopping at
  the page; with many matches the page is near the start.

Ties are broken by (class_id, id) in the sort's direction, which is the order of the ordered
indexes; rows without a value (no IoU) come after the rest in either direction. SQLite is told
the index (``INDEXED BY``: its planner has no statistics); PostgreSQL chooses from its own
(``ANALYZE`` after every run).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from sqlalchemy import (
    ColumnElement,
    Connection,
    CursorResult,
    Select,
    and_,
    bindparam,
    case,
    exists,
    func,
    select,
)

from predscope.store.analysis_objects import (
    HISTOGRAM_DIMS,
    HISTOGRAM_EDGES,
    bucket_of,
    sig_error,
    sig_outcome,
)
from predscope.store.schema import (
    analysis_attributes,
    analysis_counts,
    analysis_histograms,
    analysis_objects,
    data_units,
)

o = analysis_objects
MERGE_BUDGET = 4000  # rows read by ``_merged_ids`` at most (signatures x (offset + limit))
WINDOWED = True  # merge only the confidence buckets that hold the page (``_window``)
SCAN_BUDGET = 2000  # objects of a window an ordered scan may pass over instead of a merge
DENSE = 0.5  # at least this share of the kind's objects matching: scan in order, never merge
FEW_SIGS = 8  # a merge of this many signatures reads little: no histogram read to narrow it
SMALL = 5000  # at most this many matches: fetch them all from the narrowest index and sort
ORDERED_INDEX = {"confidence": "ix_analysis_objects_conf", "area_px": "ix_analysis_objects_area"}


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


def _range(col: Any, lo: float | None, hi: float | None) -> list[ColumnElement[bool]]:
    out: list[ColumnElement[bool]] = []
    if lo is not None:
        out.append(col >= lo)
    if hi is not None:
        out.append(col <= hi)
    return out


def _in(col: Any, values: Sequence[int]) -> ColumnElement[bool]:
    values = list(values)
    out: ColumnElement[bool] = col == values[0] if len(values) == 1 else col.in_(values)
    return out


def sig_counts(
    conn: Connection, set_id: int, kind: int, class_ids: Sequence[int] | None
) -> dict[int, int]:
    """sig -> number of the set's objects of ``kind`` (and ``class_ids``) with it."""
    c = analysis_counts.c
    query = select(c.sig, func.sum(c.n)).where(c.set_id == set_id, c.kind == kind)
    if class_ids is not None:
        query = query.where(_in(c.class_id, class_ids))
    return {int(sig): int(n) for sig, n in conn.execute(query.group_by(c.sig))}


@dataclass(frozen=True)
class _Plan:
    """The conditions of one query and what the counts say about them."""

    filter: ObjectFilter
    conds: list[ColumnElement[bool]]
    sigs: list[int] | None  # None: every signature of the kind matches
    matches: int  # objects matching signature and class (before range filters)
    population: int  # objects of the kind (and classes), matching or not
    ranged: bool  # whether range / unit / attribute filters remain
    extra: list[ColumnElement[bool]]  # those filters
    histogram: tuple[str, float | None, float | None] | None  # the one range, if countable so

    def index(self, order: str | None) -> str | None:
        """The index SQLite is told to use for a page ordered by ``order`` (None: a count)."""
        q = self.filter
        if q.data_unit_id is not None:
            return "ix_analysis_objects_unit"
        ordered = ORDERED_INDEX.get(order or "")
        if order == f"i{q.threshold}":
            ordered = f"ix_analysis_objects_iou{q.threshold}"
        if order is None:  # a count: the index that holds the range filter's column
            if q.min_iou is not None or q.max_iou is not None:
                return f"ix_analysis_objects_iou{q.threshold}"
            area = (q.ranges or {}).get("area_px")
            if area and (self.sigs is None or self.matches > SMALL) and q.min_confidence is None:
                return "ix_analysis_objects_area"
        elif ordered is not None and self.matches > SMALL:
            return ordered
        if q.class_ids is not None:  # one class is a small part of a set
            return "ix_analysis_objects_class"
        if self.sigs is not None:
            return "ix_analysis_objects_sig"
        if order is None and (q.min_confidence is not None or q.max_confidence is not None):
            return "ix_analysis_objects_conf"
        return ordered


def _plan(conn: Connection, q: ObjectFilter) -> _Plan | None:
    """None when no object can match (no signature of the set passes the filters)."""
    counts = sig_counts(conn, q.set_id, q.kind, q.class_ids)
    t = q.threshold
    outcomes = None if q.outcomes is None else set(q.outcomes)
    errors = None if q.error_types is None else set(q.error_types)
    match = {
        sig: n
        for sig, n in counts.items()
        if (outcomes is None or sig_outcome(sig, t) in outcomes)
        and (errors is None or sig_error(sig) in errors)
    }
    if not match:
        return None
    sigs = None if len(match) == len(counts) else sorted(match)
    conds: list[ColumnElement[bool]] = [o.c.set_id == q.set_id, o.c.kind == q.kind]
    if sigs is not None:
        conds.append(_in(o.c.sig, sigs))
    if q.class_ids is not None:
        conds.append(_in(o.c.class_id, q.class_ids))
    extra = _range(o.c.confidence, q.min_confidence, q.max_confidence)
    extra += _range(o.c[f"i{t}"], q.min_iou, q.max_iou)
    for name, (lo, hi) in (q.ranges or {}).items():
        extra += _range(o.c[name], lo, hi)
    if q.data_unit_id is not None:
        extra.append(o.c.data_unit_id == q.data_unit_id)
    a = analysis_attributes
    for name, values in (q.attributes or {}).items():
        extra.append(
            exists(
                select(a.c.seq).where(
                    a.c.set_id == o.c.set_id,
                    a.c.data_unit_id == o.c.data_unit_id,
                    a.c.frame == o.c.frame,
                    a.c.kind == o.c.kind,
                    a.c.seq == o.c.seq,
                    a.c.name == name,
                    a.c.value.in_(list(values)),
                )
            )
        )
    ranges = [(n, lo, hi) for n, (lo, hi) in (q.ranges or {}).items() if (lo, hi) != (None, None)]
    if q.min_confidence is not None or q.max_confidence is not None:
        ranges.append(("confidence", q.min_confidence, q.max_confidence))
    histogram = None
    alone = len(ranges) == 1 and q.min_iou is None and q.max_iou is None
    # with classes, the class index is narrow enough to count in
    plain = q.data_unit_id is None and not q.attributes and q.class_ids is None
    if alone and plain and ranges[0][0] in HISTOGRAM_EDGES:
        histogram = ranges[0]
    matches, population = sum(match.values()), sum(counts.values())
    return _Plan(q, conds + extra, sigs, matches, population, bool(extra), extra, histogram)


def _span(name: str, lo: float | None, hi: float | None) -> tuple[int, int, int, int]:
    """(bucket of lo, bucket of hi, first and last bucket wholly inside [lo, hi]).

    Bucket k holds [edges[k-1], edges[k]); a bound on a bucket's lower edge (a confidence of
    two decimals, say) takes that bucket whole. The bucket of ``hi`` is never whole (values
    above ``hi`` may share it); an open end reaches the first or last bucket."""
    edges = HISTOGRAM_EDGES[name]
    b_lo = int(bucket_of(name, np.array([lo]))[0]) if lo is not None else 0
    b_hi = int(bucket_of(name, np.array([hi]))[0]) if hi is not None else len(edges)
    on_edge = lo is not None and b_lo > 0 and float(edges[b_lo - 1]) == lo
    first = b_lo if lo is None or on_edge else b_lo + 1
    final = b_hi if hi is None else b_hi - 1
    return b_lo, b_hi, first, final


class _Histograms:
    """The histogram totals of one query, per bucket, read once per property: of the query's
    signatures, and of every object of its kind (how much an ordered scan passes over)."""

    def __init__(self, conn: Connection, plan: _Plan) -> None:
        self.conn, self.plan = conn, plan
        self._totals: dict[str, tuple[np.ndarray, np.ndarray]] = {}

    def _read(self, name: str) -> tuple[np.ndarray, np.ndarray]:
        if name not in self._totals:
            q, h = self.plan.filter, analysis_histograms.c
            matching: Any = h.n
            if self.plan.sigs is not None:
                matching = case((_in(h.sig, self.plan.sigs), h.n), else_=0)
            query = select(h.bucket, func.sum(matching), func.sum(h.n)).where(
                h.set_id == q.set_id, h.kind == q.kind, h.dim == HISTOGRAM_DIMS[name]
            )
            size = len(HISTOGRAM_EDGES[name]) + 1
            found, every = np.zeros(size, dtype=np.int64), np.zeros(size, dtype=np.int64)
            for bucket, n, n_all in self.conn.execute(query.group_by(h.bucket)):
                found[int(bucket)], every[int(bucket)] = int(n), int(n_all)
            self._totals[name] = (found, every)
        return self._totals[name]

    def totals(self, name: str) -> np.ndarray:
        """Objects of the query's kind and signatures per bucket of ``name``."""
        return self._read(name)[0]

    def everything(self, name: str) -> np.ndarray:
        """Objects of the query's kind per bucket of ``name``, whatever their signature."""
        return self._read(name)[1]


def _histogram_count(conn: Connection, plan: _Plan, hist: _Histograms) -> int:
    """The total of one confidence or area range: whole buckets from ``analysis_histograms``,
    plus the objects of its partial edge buckets counted in an index."""
    assert plan.histogram is not None
    name, lo, hi = plan.histogram
    edges = HISTOGRAM_EDGES[name]
    b_lo, b_hi, first, final = _span(name, lo, hi)
    if b_lo >= b_hi:  # one bucket (or lo above hi: its edge counts would not be empty)
        return _count(conn, plan, plan.conds)
    base = plan.conds[: len(plan.conds) - len(plan.extra)]
    col = o.c[name]
    totals = hist.totals(name)
    total = int(totals[first : final + 1].sum())
    if first > b_lo:  # lo inside its bucket
        total += _count(conn, plan, [*base, col >= lo, col < float(edges[b_lo])])
    if hi is not None:
        total += _count(conn, plan, [*base, col >= float(edges[b_hi - 1]), col <= hi])
    return total


@dataclass(frozen=True)
class _Window:
    """Where the first ``need`` matches by confidence lie, by the histogram: the signatures
    present there, its confidence range (inside the query's own, which it replaces: one bound
    per side, so that SQLite's read of a signature stops at the window's end), at most how
    many matches it holds (what a merge of it reads) and how many objects of the kind (what
    an ordered scan of the confidence index passes over at most)."""

    sigs: list[int]
    conds: list[ColumnElement[bool]]
    rows: int
    scan: int


def _window(
    conn: Connection, plan: _Plan, hist: _Histograms, descending: bool, need: int
) -> _Window | None:
    """The confidence buckets that hold the first ``need`` matches in page order, walked from
    the page's end of the (filtered) range until whole buckets hold ``need`` matches; None when
    the histogram cannot say (a class, unit, attribute or other range filter) or never gets
    there. Every match outside the window sorts after every match inside it."""
    q = plan.filter
    if plan.sigs is None or q.class_ids is not None or q.data_unit_id is not None:
        return None
    if plan.ranged and (plan.histogram is None or plan.histogram[0] != "confidence"):
        return None
    lo, hi = q.min_confidence, q.max_confidence
    b_lo, b_hi, first, final = _span("confidence", lo, hi)
    totals = hist.totals("confidence")
    walk = range(b_hi, b_lo - 1, -1) if descending else range(b_lo, b_hi + 1)
    found = 0
    for stop in walk:
        found += int(totals[stop]) if first <= stop <= final else 0
        if found >= need:
            break
    else:
        return None
    start, end = (stop, b_hi) if descending else (b_lo, stop)
    h = analysis_histograms.c
    present = (
        select(h.sig)
        .distinct()
        .where(
            h.set_id == q.set_id,
            h.kind == q.kind,
            h.dim == HISTOGRAM_DIMS["confidence"],
            _in(h.sig, plan.sigs),
            h.bucket >= start,
            h.bucket <= end,
            h.n > 0,
        )
    )
    sigs = sorted(int(r[0]) for r in conn.execute(present))
    edges, col = HISTOGRAM_EDGES["confidence"], o.c.confidence
    low = float(edges[start - 1]) if start > 0 else None  # the window's first bucket's edge
    high = float(edges[end]) if end < len(edges) else None  # its last bucket's upper edge
    conds: list[ColumnElement[bool]] = []
    if low is not None and (lo is None or low > lo):
        conds.append(col >= low)
    elif lo is not None:
        conds.append(col >= lo)
    if high is not None and (hi is None or high <= hi):
        conds.append(col < high)
    elif hi is not None:
        conds.append(col <= hi)
    rows = min(need * len(sigs), int(totals[start : end + 1].sum()))
    return _Window(sigs, conds, rows, int(hist.everything("confidence")[start : end + 1].sum()))


def _compiled(conn: Connection, stmt: Select[Any], index: str | None) -> tuple[str, Any]:
    """SQL text of ``stmt`` (with ``INDEXED BY index`` after ``FROM analysis_objects`` on
    SQLite) and its compiled form, for the parameters."""
    compiled = stmt.compile(dialect=conn.dialect, compile_kwargs={"render_postcompile": True})
    sql = str(compiled)
    if index is not None and conn.dialect.name == "sqlite":
        sql = sql.replace(f"FROM {o.name} ", f"FROM {o.name} INDEXED BY {index} ")
        sql = sql.replace(f"FROM {o.name}\n", f"FROM {o.name} INDEXED BY {index}\n")
    return sql, compiled


def _driver_params(conn: Connection, compiled: Any, params: Mapping[str, Any]) -> Any:
    if conn.dialect.name == "sqlite":
        return tuple(params[k] for k in compiled.positiontup or ())
    return dict(params)


def _run(conn: Connection, stmt: Select[Any], index: str | None) -> CursorResult[Any]:
    """Execute ``stmt``; on SQLite with ``INDEXED BY index`` after ``FROM analysis_objects``."""
    if index is None or conn.dialect.name != "sqlite":
        return conn.execute(stmt)
    sql, compiled = _compiled(conn, stmt, index)
    return conn.exec_driver_sql(sql, _driver_params(conn, compiled, compiled.params))


def _count(conn: Connection, plan: _Plan, conds: Sequence[ColumnElement[bool]]) -> int:
    query = select(func.count()).select_from(o).where(and_(*conds))
    return int(_run(conn, query, plan.index(None)).scalar_one())


def _ids(
    conn: Connection,
    plan: _Plan,
    conds: Sequence[ColumnElement[bool]],
    keys: Sequence[Any],
    order: str,
    descending: bool,
    offset: int,
    limit: int,
) -> list[int]:
    ordering = [k.desc() if descending else k.asc() for k in keys]
    query: Select[Any] = (
        select(o.c.id).where(and_(*conds)).order_by(*ordering).offset(offset).limit(limit)
    )
    return [int(r[0]) for r in _run(conn, query, plan.index(order))]


def _merged_ids(
    conn: Connection,
    plan: _Plan,
    window: _Window | None,
    descending: bool,
    offset: int,
    limit: int,
) -> list[int]:
    """The page by confidence as the merge of one short ordered read per signature.

    ``ix_analysis_objects_sig`` is (set, kind, sig, confidence, class, id): each signature's
    objects are in page order there, so the page is among each one's first offset + limit.
    Unlike a scan of the confidence index, this does not depend on where in the confidence
    range the matches lie (true positives are rare among the least confident objects). With
    a ``window`` only the signatures present in it are read, and each read stops at its end.
    """
    q = plan.filter
    extra, sigs = (plan.extra, plan.sigs or []) if window is None else (window.conds, window.sigs)
    conds = [o.c.set_id == q.set_id, o.c.kind == q.kind, *extra]
    if q.class_ids is not None:
        conds.append(_in(o.c.class_id, q.class_ids))
    keys = [o.c.confidence, o.c.class_id, o.c.id]
    ordering = [k.desc() if descending else k.asc() for k in keys]
    query = (
        select(*keys)
        .where(*conds, o.c.sig == bindparam("merge_sig", 0))
        .order_by(*ordering)
        .limit(offset + limit)
    )
    # compiled once (compiling is dearer than each short read), then run per signature: on
    # SQLite one call each (no round trip); on PostgreSQL one statement, a LATERAL join of the
    # read to the signatures (planned once: a UNION ALL of a read per signature took longer to
    # plan, 25 ms for 79 signatures, than to run)
    sql, compiled = _compiled(conn, query, "ix_analysis_objects_sig")
    params = dict(compiled.params)
    found: list[tuple[float, int, int]] = []
    if conn.dialect.name == "postgresql":
        one = "%(merge_sig)s"
        assert one in sql
        lateral = (
            "SELECT m.confidence, m.class_id, m.id FROM unnest(%(merge_sigs)s::integer[]) "
            f"AS s(sig) CROSS JOIN LATERAL ({sql.replace(one, 's.sig')}) AS m"
        )
        params["merge_sigs"] = list(sigs)
        found = [tuple(r) for r in conn.exec_driver_sql(lateral, params)]
    else:
        for sig in sigs:
            params["merge_sig"] = sig
            rows = conn.exec_driver_sql(sql, _driver_params(conn, compiled, params))
            found += [tuple(r) for r in rows]
    found.sort(reverse=descending)
    return [int(r[2]) for r in found[offset : offset + limit]]


def object_page(
    conn: Connection, q: ObjectFilter, order: str, descending: bool, offset: int, limit: int
) -> tuple[list[dict[str, Any]], int]:
    """(rows of the page with data_hash and data_title, total matching rows)."""
    plan = _plan(conn, q)
    if plan is None:
        return [], 0
    hist = _Histograms(conn, plan)
    if not plan.ranged:
        total = plan.matches
    elif plan.histogram is not None:
        total = _histogram_count(conn, plan, hist)
    else:
        total = _count(conn, plan, plan.conds)
    if total == 0 or offset >= total:
        return [], total
    key = o.c[order]
    ties = [o.c.class_id, o.c.id]
    sigs = plan.sigs or []
    merge, window = False, None
    # a share of DENSE or more of the kind matching: an ordered scan passes over few others
    dense = q.class_ids is None and plan.matches >= DENSE * plan.population
    if order == "confidence" and plan.matches > SMALL and q.data_unit_id is None and sigs:
        if WINDOWED and not dense and len(sigs) > FEW_SIGS:
            window = _window(conn, plan, hist, descending, offset + limit)
        reads = window.rows if window is not None else len(sigs) * (offset + limit)
        # matches dense where the page lies: one ordered scan beats a read per signature
        scan_is_short = window is not None and window.scan <= SCAN_BUDGET
        merge = reads <= MERGE_BUDGET and not scan_is_short and not dense
    if merge:
        ids = _merged_ids(conn, plan, window, descending, offset, limit)
    elif not key.nullable:
        ids = _ids(conn, plan, plan.conds, [key, *ties], order, descending, offset, limit)
    else:  # valued rows first (by the key), then those without a value, in either direction
        valued = [*plan.conds, key.is_not(None)]
        ids = _ids(conn, plan, valued, [key, *ties], order, descending, offset, limit)
        if len(ids) < limit:
            seen = offset + len(ids) if ids else _count(conn, plan, valued)
            ids += _ids(
                conn,
                plan,
                [*plan.conds, key.is_(None)],
                ties,
                "",  # no index is ordered by (class, id) alone: the narrowest, then sort
                descending,
                max(0, offset - seen),
                limit - len(ids),
            )
    if not ids:
        return [], total
    query = (
        select(o, data_units.c.data_hash, data_units.c.data_title)
        .join(data_units, data_units.c.id == o.c.data_unit_id)
        .where(o.c.id.in_(ids))
    )
    result = conn.execute(query)
    names = list(result.keys())  # once: a RowMapping builds its key list per row (55 columns)
    by_id = {row.id: dict(zip(names, row, strict=True)) for row in result}
    return [by_id[i] for i in ids], total


def partners(
    conn: Connection, set_id: int, kind: int, keys: Sequence[tuple[int, int, int]]
) -> dict[tuple[int, int, int], str]:
    """Object hashes of ``kind`` at (data unit, frame, seq) keys (the partners of a page).

    The keys are joined to ``ix_analysis_objects_unit`` (set, unit, frame, kind, seq): one probe
    and one row per key. Filtering by the keys' units and seqs instead read every object of
    those units that had one of the seqs, 500-1,500 rows (and their table rows) for 50 keys.
    """
    if not keys:
        return {}
    wanted = sorted(set(keys))
    cols = "o.data_unit_id, o.frame, o.seq, o.object_hash"
    if conn.dialect.name == "postgresql":
        sql = (
            f"SELECT {cols} FROM unnest(%(u)s::integer[], %(f)s::integer[], %(s)s::integer[]) "
            f"AS k(u, f, s) JOIN {o.name} AS o ON o.set_id = %(set_id)s AND o.kind = %(kind)s "
            "AND o.data_unit_id = k.u AND o.frame = k.f AND o.seq = k.s"
        )
        u, fr, sq = (list(c) for c in zip(*wanted, strict=True))
        params: Any = {"u": u, "f": fr, "s": sq, "set_id": set_id, "kind": kind}
    else:  # CROSS JOIN: SQLite keeps the keys as the outer loop
        marks = ", ".join("(?, ?, ?)" for _ in wanted)
        sql = (
            f"SELECT {cols} FROM (VALUES {marks}) AS k CROSS JOIN {o.name} AS o "
            "INDEXED BY ix_analysis_objects_unit WHERE o.set_id = ? AND o.kind = ? "
            "AND o.data_unit_id = k.column1 AND o.frame = k.column2 AND o.seq = k.column3"
        )
        params = (*(v for key in wanted for v in key), set_id, kind)
    found = conn.exec_driver_sql(sql, params).all()
    return {(unit, frame, seq): object_hash for unit, frame, seq, object_hash in found}
