"""Every stored object of some data units, for drawing them, and the ground truth two sets
disagree on: both read from the set's object columns (``store.object_columns``), where a data
unit's objects of a kind are one contiguous range."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from numpy.typing import NDArray
from sqlalchemy import Connection, select

from predscope.store.object_columns import ObjectColumns, null_where, open_columns
from predscope.store.schema import data_units

FOUND, MISSED = 1, 4  # a ground truth's outcome codes: matched (TP), left unmatched (FN)
GT = 1


def _unit_rows(cols: ObjectColumns, unit_ids: Sequence[int]) -> NDArray[np.intp]:
    """Positions of both kinds' objects on ``unit_ids``, in storage order."""
    ranges = [cols.unit_range(kind, int(u)) for kind in (0, 1) for u in sorted(set(unit_ids))]
    pieces = [np.arange(r.start, r.stop) for r in ranges if r.stop > r.start]
    return np.concatenate(pieces) if pieces else np.zeros(0, dtype=np.intp)


def unit_objects(
    conn: Connection, set_id: int, unit_ids: Sequence[int], threshold: int
) -> list[dict[str, Any]]:
    """Rows (data_unit_id, frame, kind, seq, object_hash, outcome, partner, iou, error_type) at
    threshold ``threshold`` of the set's objects on ``unit_ids``."""
    cols = open_columns(conn, set_id)
    if cols is None or not unit_ids:
        return []
    picks = _unit_rows(cols, unit_ids)
    names = {
        "data_unit_id": "data_unit_id",
        "frame": "frame",
        "kind": "kind",
        "seq": "seq",
        "object_hash": "object_hash",
        "outcome": f"o{threshold}",
        "partner": f"p{threshold}",
        "iou": f"i{threshold}",
        "error_type": "error_type",
    }
    values = {key: null_where(cols[name][picks], name) for key, name in names.items()}
    return [{key: values[key][i] for key in names} for i in range(picks.size)]


def _disagreeing(
    a: ObjectColumns, b: ObjectColumns, threshold: int
) -> tuple[NDArray[np.intp], NDArray[np.intp]]:
    """Positions in ``a`` of the ground truth ``a`` found and ``b`` missed, and the reverse,
    in (unit, frame, seq) order: objects are paired by their (unit, frame, seq) key."""
    rows = a.kind_range(GT)
    keys = np.stack(
        [a[name][rows].astype(np.int64) for name in ("data_unit_id", "frame", "seq")], 1
    )
    in_b = b.positions(GT, keys)
    paired = in_b >= 0
    outcome_a = a[f"o{threshold}"][rows]
    outcome_b = np.full(outcome_a.shape, -1, dtype=np.int64)
    outcome_b[paired] = b[f"o{threshold}"][in_b[paired]]
    base = np.arange(rows.start, rows.stop)
    a_not_b = base[(outcome_a == FOUND) & (outcome_b == MISSED)]
    b_not_a = base[(outcome_a == MISSED) & (outcome_b == FOUND)]
    return a_not_b, b_not_a


def changed_ground_truth(
    conn: Connection, set_a: int, set_b: int, threshold: int, offset: int, limit: int
) -> dict[str, Any]:
    """Ground-truth objects found (TP) by one set and missed (FN) by the other at a threshold:
    both counts, and a page of each in data-unit order (unit, frame, position). The two sets
    share their ground truth (the caller checks), so an object is the same (unit, frame, seq)
    in both."""
    a, b = open_columns(conn, set_a), open_columns(conn, set_b)
    if a is None or b is None:
        return {"a_not_b": (0, []), "b_not_a": (0, [])}
    out: dict[str, Any] = {}
    for key, found in zip(("a_not_b", "b_not_a"), _disagreeing(a, b, threshold), strict=True):
        out[key] = (int(found.size), _described(conn, a, found[offset : offset + limit]))
    return out


def _described(
    conn: Connection, cols: ObjectColumns, picks: NDArray[np.intp]
) -> list[dict[str, Any]]:
    """Object hash, class and data hash of the objects at ``picks``."""
    if picks.size == 0:
        return []
    units = cols["data_unit_id"][picks].tolist()
    hashes = dict(
        conn.execute(
            select(data_units.c.id, data_units.c.data_hash).where(
                data_units.c.id.in_(sorted(set(units)))
            )
        ).all()
    )
    object_hashes = null_where(cols["object_hash"][picks], "object_hash")
    frames = cols["frame"][picks].tolist()
    classes = cols["class_id"][picks].tolist()
    return [
        {
            "object_hash": object_hashes[i],
            "data_hash": hashes[units[i]],
            "frame": int(frames[i]),
            "class_id": int(classes[i]),
        }
        for i in range(picks.size)
    ]
