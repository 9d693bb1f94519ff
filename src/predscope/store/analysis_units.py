"""Every stored object of some data units, for drawing them: one indexed read per page of tiles
(``ix_analysis_objects_unit``) instead of one query per unit and kind."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, select

from predscope.store._util import chunks
from predscope.store.schema import analysis_objects as o


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
