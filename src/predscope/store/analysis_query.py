"""The SQL of the query layer: filtered, sorted pages of stored objects and frames, with totals.

Every filter is a plain predicate on one stored row: the outcome at threshold t is column
``o<t>`` (no re-matching). ``ix_analysis_objects_t<t>`` = (set, kind, o<t>, confidence,
class_id) serves the common page (outcome at t, by confidence, optional class and confidence
range) and its count from the index alone; ties are broken by (class_id, id) in the same
direction so the index order is the result order.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Connection, and_, case, exists, func, select, true

from predscope.store.schema import (
    analysis_attributes,
    analysis_frames,
    analysis_objects,
    data_units,
)

o = analysis_objects
f = analysis_frames


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


def object_conditions(q: ObjectFilter) -> list[ColumnElement[bool]]:
    conds: list[ColumnElement[bool]] = [o.c.set_id == q.set_id, o.c.kind == q.kind]
    outcome = o.c[f"o{q.threshold}"]
    if q.outcomes is not None:
        conds.append(outcome == q.outcomes[0] if len(q.outcomes) == 1 else outcome.in_(q.outcomes))
    if q.class_ids is not None:
        ids = list(q.class_ids)
        conds.append(o.c.class_id == ids[0] if len(ids) == 1 else o.c.class_id.in_(ids))
    if q.error_types is not None:
        conds.append(o.c.error_type.in_(list(q.error_types)))
    conds += _range(o.c.confidence, q.min_confidence, q.max_confidence)
    conds += _range(o.c[f"i{q.threshold}"], q.min_iou, q.max_iou)
    for name, (lo, hi) in (q.ranges or {}).items():
        conds += _range(o.c[name], lo, hi)
    if q.data_unit_id is not None:
        conds.append(o.c.data_unit_id == q.data_unit_id)
    a = analysis_attributes
    for name, values in (q.attributes or {}).items():
        conds.append(
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
    return conds


def object_page(
    conn: Connection, q: ObjectFilter, order: str, descending: bool, offset: int, limit: int
) -> tuple[list[dict[str, Any]], int]:
    """(rows of the page with data_hash and data_title, total matching rows)."""
    conds = object_conditions(q)
    total = int(conn.execute(select(func.count()).select_from(o).where(and_(*conds))).scalar_one())
    keys = [o.c[order], o.c.class_id, o.c.id]
    ordering = [k.desc() if descending else k.asc() for k in keys]
    if o.c[order].nullable:  # the same place for NULL (no IoU) on SQLite and PostgreSQL
        ordering[0] = ordering[0].nulls_last()
    query = (
        select(o, data_units.c.data_hash, data_units.c.data_title)
        .join(data_units, data_units.c.id == o.c.data_unit_id)
        .where(and_(*conds))
        .order_by(*ordering)
        .offset(offset)
        .limit(limit)
    )
    return [dict(m) for m in conn.execute(query).mappings()], total


def partners(
    conn: Connection, set_id: int, kind: int, keys: Sequence[tuple[int, int, int]]
) -> dict[tuple[int, int, int], str]:
    """Object hashes of ``kind`` at (data unit, frame, seq) keys (the partners of a page)."""
    if not keys:
        return {}
    units = sorted({k[0] for k in keys})
    query = select(o.c.data_unit_id, o.c.frame, o.c.seq, o.c.object_hash).where(
        o.c.set_id == set_id, o.c.kind == kind, o.c.data_unit_id.in_(units)
    )
    wanted = set(keys)
    out: dict[tuple[int, int, int], str] = {}
    for unit, frame, seq, object_hash in conn.execute(query):
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

        base = (
            select(
                f.c.data_unit_id,
                f.c.frame,
                f.c.width,
                f.c.height,
                func.coalesce(count(and_(o.c.kind == 0, out_t == 1)), 0).label("tp"),
                func.coalesce(count(and_(o.c.kind == 0, out_t == 0)), 0).label("fp"),
                func.coalesce(count(and_(o.c.kind == 1, out_t == 4)), 0).label("fn"),
                func.coalesce(count(o.c.kind == 1), 0).label("num_gt"),
                func.coalesce(count(o.c.kind == 0), 0).label("num_predictions"),
            )
            .select_from(
                f.outerjoin(
                    o,
                    and_(
                        o.c.set_id == f.c.set_id,
                        o.c.data_unit_id == f.c.data_unit_id,
                        o.c.frame == f.c.frame,
                        o.c.class_id.in_(list(class_ids)),
                    ),
                )
            )
            .where(f.c.set_id == set_id)
            .group_by(f.c.data_unit_id, f.c.frame, f.c.width, f.c.height)
            .subquery()
        )
    b = base.c
    conds: list[ColumnElement[bool]] = []
    for name, (lo, hi) in ranges.items():
        conds += _range(b[name], lo, hi)
    if data_unit_id is not None:
        conds.append(b.data_unit_id == data_unit_id)
    where = and_(true(), *conds)
    total = int(conn.execute(select(func.count()).select_from(base).where(where)).scalar_one())
    key = data_units.c.data_title if order == "data_title" else b[order]
    keys = [key, b.data_unit_id, b.frame]
    query = (
        select(base, data_units.c.data_hash, data_units.c.data_title)
        .join(data_units, data_units.c.id == b.data_unit_id)
        .where(where)
        .order_by(*[k.desc() if descending else k.asc() for k in keys])
        .offset(offset)
        .limit(limit)
    )
    return [dict(m) for m in conn.execute(query).mappings()], total
