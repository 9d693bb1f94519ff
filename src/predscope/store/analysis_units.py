"""Every stored object of some data units, for drawing them: one indexed read per page of tiles
(``ix_analysis_objects_unit``) instead of one query per unit and kind."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, select, text

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


def _changed_sql(conn: Connection, select_list: str, tail: str) -> str:
    """The join of set A's ground truth with set B's, object by object, on the unit index alone
    (``INDEXED BY`` on SQLite, whose planner has no statistics here)."""
    hint = " INDEXED BY ix_analysis_objects_unit" if conn.dialect.name == "sqlite" else ""
    return (
        f"SELECT {select_list} FROM analysis_objects AS a{hint} "
        f"JOIN analysis_objects AS b{hint} ON b.set_id = :sb AND b.data_unit_id = a.data_unit_id "
        "AND b.frame = a.frame AND b.kind = 1 AND b.seq = a.seq "
        "WHERE a.set_id = :sa AND a.kind = 1 AND "
        f"(a.sig / :p) % 5 = :oa AND (b.sig / :p) % 5 = :ob {tail}"
    )


def changed_ground_truth(
    conn: Connection, set_a: int, set_b: int, threshold: int, offset: int, limit: int
) -> dict[str, Any]:
    """Ground-truth objects found (TP) by one set and missed (FN) by the other at a threshold:
    both counts, and a page of each in data-unit order (unit, frame, position). The two sets
    share their ground truth (the caller checks), so an object is the same (unit, frame, seq) in
    both; its outcome at every threshold is in the signature, which the unit index holds, so the
    counts and the pages read no table row - only the page's objects are looked up."""
    p = 5**threshold
    out: dict[str, Any] = {}
    for key, (oa, ob) in (("a_not_b", (FOUND, MISSED)), ("b_not_a", (MISSED, FOUND))):
        params = {"sa": set_a, "sb": set_b, "p": p, "oa": oa, "ob": ob}
        total = conn.execute(text(_changed_sql(conn, "count(*)", "")), params).scalar_one()
        tail = "ORDER BY a.data_unit_id, a.frame, a.seq LIMIT :limit OFFSET :offset"
        keys = conn.execute(
            text(_changed_sql(conn, "a.data_unit_id, a.frame, a.seq", tail)),
            {**params, "limit": limit, "offset": offset},
        ).all()
        out[key] = (int(total), _described(conn, set_a, [tuple(k) for k in keys]))
    return out


def _described(
    conn: Connection, set_id: int, keys: Sequence[tuple[int, int, int]]
) -> list[dict[str, Any]]:
    """Object hash, class and data hash of the set's ground truth at (unit, frame, seq) keys."""
    if not keys:
        return []
    query = (
        select(o.c.data_unit_id, o.c.frame, o.c.seq, o.c.object_hash, o.c.class_id,
               data_units.c.data_hash)
        .select_from(o.join(data_units, data_units.c.id == o.c.data_unit_id))
        .where(
            o.c.set_id == set_id,
            o.c.kind == 1,
            o.c.data_unit_id.in_(sorted({k[0] for k in keys})),
            o.c.seq.in_(sorted({k[2] for k in keys})),
        )
    )  # fmt: skip
    found = {(u, f, s): (h, c, d) for u, f, s, h, c, d in conn.execute(query).all()}
    return [
        {"object_hash": found[k][0], "data_hash": found[k][2], "frame": int(k[1]),
         "class_id": int(found[k][1])}
        for k in keys
    ]  # fmt: skip
