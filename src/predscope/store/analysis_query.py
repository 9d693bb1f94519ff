"""The SQL of the query layer: filtered, sorted pages of stored objects and frames, with totals.

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

from sqlalchemy import (
    ColumnElement,
    Connection,
    CursorResult,
    Executable,
    Select,
    and_,
    case,
    exists,
    func,
    select,
    true,
)

from predscope.store.analysis_objects import sig_error, sig_outcome
from predscope.store.schema import (
    analysis_attributes,
    analysis_counts,
    analysis_frames,
    analysis_objects,
    data_units,
)

o = analysis_objects
f = analysis_frames
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
    return col == values[0] if len(values) == 1 else col.in_(values)


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
    ranged: bool  # whether range / unit / attribute filters remain

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
        if self.sigs is not None:
            return "ix_analysis_objects_sig"
        if q.class_ids is not None:
            return "ix_analysis_objects_class"
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
    return _Plan(q, conds + extra, sigs, sum(match.values()), bool(extra))


def _run(conn: Connection, stmt: Executable, index: str | None) -> CursorResult[Any]:
    """Execute ``stmt``; on SQLite with ``INDEXED BY index`` after ``FROM analysis_objects``."""
    if index is None or conn.dialect.name != "sqlite":
        return conn.execute(stmt)
    compiled = stmt.compile(dialect=conn.dialect, compile_kwargs={"render_postcompile": True})
    sql = str(compiled).replace(
        f"FROM {o.name}", f"FROM {o.name} INDEXED BY {index}", 1
    )
    params = compiled.params
    return conn.exec_driver_sql(sql, tuple(params[k] for k in compiled.positiontup or ()))


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


def object_page(
    conn: Connection, q: ObjectFilter, order: str, descending: bool, offset: int, limit: int
) -> tuple[list[dict[str, Any]], int]:
    """(rows of the page with data_hash and data_title, total matching rows)."""
    plan = _plan(conn, q)
    if plan is None:
        return [], 0
    total = _count(conn, plan, plan.conds) if plan.ranged else plan.matches
    if total == 0 or offset >= total:
        return [], total
    key = o.c[order]
    ties = [o.c.class_id, o.c.id]
    if not key.nullable:
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
    by_id = {m["id"]: dict(m) for m in conn.execute(query).mappings()}
    return [by_id[i] for i in ids], total


def partners(
    conn: Connection, set_id: int, kind: int, keys: Sequence[tuple[int, int, int]]
) -> dict[tuple[int, int, int], str]:
    """Object hashes of ``kind`` at (data unit, frame, seq) keys (the partners of a page)."""
    if not keys:
        return {}
    wanted = set(keys)
    query = select(o.c.data_unit_id, o.c.frame, o.c.seq, o.c.object_hash).where(
        o.c.set_id == set_id,
        o.c.data_unit_id.in_(sorted({k[0] for k in wanted})),
        o.c.kind == kind,
        o.c.seq.in_(sorted({k[2] for k in wanted})),  # checked in the index, before the row
    )
    out: dict[tuple[int, int, int], str] = {}
    for unit, frame, seq, object_hash in _run(conn, query, "ix_analysis_objects_unit"):
        if (unit, frame, seq) in wanted:
            out[(unit, frame, seq)] = object_hash
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
    """Frames with TP / FP / FN at threshold t (of the given classes only, if any)."""
    if class_ids is None:
        cols = {
            "tp": f.c[f"tp{threshold}"],
            "fp": f.c[f"fp{threshold}"],
            "fn": f.c[f"fn{threshold}"],
            "num_gt": f.c.num_gt,
            "num_predictions": f.c.num_predictions,
        }
        base = (
            select(
                f.c.data_unit_id,
                f.c.frame,
                f.c.width,
                f.c.height,
                *[c.label(n) for n, c in cols.items()],
            )
            .where(f.c.set_id == set_id)
            .subquery()
        )
    else:
        out_t = o.c[f"o{threshold}"]

        def count(cond: ColumnElement[bool]) -> Any:
            return func.sum(case((cond, 1), else_=0))

        # The classes' objects (by the class index), counted per frame, then joined to frames.
        per_frame = (
            select(
                o.c.data_unit_id,
                o.c.frame,
                count(and_(o.c.kind == 0, out_t == 1)).label("tp"),
                count(and_(o.c.kind == 0, out_t == 0)).label("fp"),
                count(and_(o.c.kind == 1, out_t == 4)).label("fn"),
                count(o.c.kind == 1).label("num_gt"),
                count(o.c.kind == 0).label("num_predictions"),
            )
            .where(
                o.c.set_id == set_id,
                o.c.kind.in_([0, 1]),  # so the class index (set, kind, class) narrows it
                o.c.class_id.in_(list(class_ids)),
            )
            .group_by(o.c.data_unit_id, o.c.frame)
            .subquery()
        )
        p = per_frame.c
        base = (
            select(
                f.c.data_unit_id,
                f.c.frame,
                f.c.width,
                f.c.height,
                *[
                    func.coalesce(p[name], 0).label(name)
                    for name in ("tp", "fp", "fn", "num_gt", "num_predictions")
                ],
            )
            .select_from(
                f.outerjoin(
                    per_frame,
                    and_(p.data_unit_id == f.c.data_unit_id, p.frame == f.c.frame),
                )
            )
            .where(f.c.set_id == set_id)
            .subquery()
        )
    b = base.c
    conds: list[ColumnElement[bool]] = []
    for name, (lo, hi) in ranges.items():
        conds += _range(b[name], lo, hi)
    if data_unit_id is not None:
        conds.append(b.data_unit_id == data_unit_id)
    where = and_(true(), *conds)
    key = data_units.c.data_title if order == "data_title" else b[order]
    keys = [key, b.data_unit_id, b.frame]
    # The page and the total in one statement (the frames are counted once, not twice).
    query = (
        select(base, data_units.c.data_hash, data_units.c.data_title, func.count().over().label("total_rows"))
        .join(data_units, data_units.c.id == b.data_unit_id)
        .where(where)
        .order_by(*[k.desc() if descending else k.asc() for k in keys])
        .offset(offset)
        .limit(limit)
    )
    rows = [dict(m) for m in conn.execute(query).mappings()]
    if rows:
        total = int(rows[0]["total_rows"])
        for r in rows:
            del r["total_rows"]
    else:
        total = int(conn.execute(select(func.count()).select_from(base).where(where)).scalar_one())
    return rows, total
