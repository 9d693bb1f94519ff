"""Every stored object of some data units, for drawing them: one indexed read per page of tiles
(``ix_analysis_objects_unit``) instead of one query per unit and kind."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, and_, or_, select

from predscope.store._util import chunks
from predscope.store.schema import analysis_objects as o
from predscope.store.schema import data_units

FOUND, MISSED = 1, 4  # a ground truth's outcome codes: matched (TP), left unmatched (FN)


def unit_objects(
    conn: Connection, set_id: int, unit_ids: Sequence[int], threshold: int
) -> list[dict[str, Any]]:
    """Rows (data_unit_id, frame, kind, seq, object_hash, outcome, partner, iou, error_type) at
    threshold ``threshold`` of the set's objects on ``unit_ids``."""
    columns = [
        o.c.data_unit_id,
        o.c.frame,
        o.c.kind,
        o.c.seq,
        o.c.object_hash,
        o.c[f"o{threshold}"].label("outcome"),
        o.c[f"p{threshold}"].label("partner"),
        o.c[f"i{threshold}"].label("iou"),
        o.c.error_type,
    ]
    out: list[dict[str, Any]] = []
    for part in chunks(sorted(set(unit_ids))):
        query = select(*columns).where(o.c.set_id == set_id, o.c.data_unit_id.in_(part))
        out.extend(dict(m) for m in conn.execute(query).mappings())
    return out


def changed_ground_truth(
    conn: Connection, set_a: int, set_b: int, threshold: int, offset: int, limit: int
) -> dict[str, Any]:
    """Ground-truth objects found (TP) by one set and missed (FN) by the other at a threshold:
    both counts, and a page of each by object hash. The two sets share their ground truth (the
    caller checks), so an object is the same (unit, frame, seq) in both: one join on the unit
    index returns only the objects whose outcome changed."""
    a, b = o.alias("a"), o.alias("b")
    oa, ob = a.c[f"o{threshold}"], b.c[f"o{threshold}"]
    on = and_(
        b.c.set_id == set_b,
        b.c.data_unit_id == a.c.data_unit_id,
        b.c.frame == a.c.frame,
        b.c.kind == 1,
        b.c.seq == a.c.seq,
        b.c.object_hash == a.c.object_hash,
    )
    query = (
        select(a.c.object_hash, a.c.class_id, a.c.frame, data_units.c.data_hash, oa)
        .select_from(a.join(b, on).join(data_units, data_units.c.id == a.c.data_unit_id))
        .where(
            a.c.set_id == set_a,
            a.c.kind == 1,
            or_(and_(oa == FOUND, ob == MISSED), and_(oa == MISSED, ob == FOUND)),
        )
    )
    sides: dict[str, list[dict[str, Any]]] = {"a_not_b": [], "b_not_a": []}
    for h, c, f, d, outcome in conn.execute(query).all():  # one fetch: 5x less per row
        item = {"object_hash": h, "data_hash": d, "frame": int(f), "class_id": int(c)}
        sides["a_not_b" if outcome == FOUND else "b_not_a"].append(item)
    out: dict[str, Any] = {}
    for key, items in sides.items():
        items.sort(key=lambda i: i["object_hash"])
        out[key] = (len(items), items[offset : offset + limit])
    return out
