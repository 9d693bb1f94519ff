"""Counts of a set's stored objects by (kind, property bucket, outcome at a threshold), for
"performance by property" (``services.analysis.by_property``): numpy over the set's object
columns (``store.object_columns``)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from numpy.typing import NDArray
from sqlalchemy import Connection

from predscope.store.object_columns import open_columns

OUTCOME_CODES = 5  # outcome codes are 0..4


def _defined(
    conn: Connection, set_id: int, threshold: int, prop: str
) -> tuple[NDArray[np.int64], NDArray[np.int64], NDArray[np.float64]] | None:
    """(kind, outcome code, value) of the set's objects whose property has a value."""
    cols = open_columns(conn, set_id)
    if cols is None:
        return None
    values = cols[prop].astype(np.float64)
    ok = ~np.isnan(values)
    kind = cols["kind"][ok].astype(np.int64)
    outcome = cols[f"o{threshold}"][ok].astype(np.int64)
    return kind, outcome, values[ok]


def bucket_counts(
    conn: Connection, set_id: int, threshold: int, prop: str, edges: Sequence[float]
) -> list[tuple[int, int, int, int]]:
    """(kind, bucket, outcome code at ``threshold``, count); bucket i holds values in
    [edges[i-1], edges[i]) (bucket 0 below edges[0], the last at or above edges[-1]); objects
    without a value of the property are left out."""
    found = _defined(conn, set_id, threshold, prop)
    if found is None:
        return []
    kind, outcome, values = found
    bucket = np.searchsorted(np.asarray(edges, dtype=np.float64), values, side="right")
    width = len(edges) + 1
    key = (kind * width + bucket) * OUTCOME_CODES + outcome
    keys, counts = np.unique(key, return_counts=True)
    return [
        (int(k // (width * OUTCOME_CODES)), int(k // OUTCOME_CODES % width),
         int(k % OUTCOME_CODES), int(n))
        for k, n in zip(keys.tolist(), counts.tolist(), strict=True)
    ]  # fmt: skip


def moment_sums(
    conn: Connection, set_id: int, threshold: int, prop: str
) -> list[tuple[int, int, int, float, float]]:
    """(kind, outcome code, count, sum of the property, sum of its square) over the set's
    objects with the property defined: what a correlation with the outcome needs."""
    found = _defined(conn, set_id, threshold, prop)
    if found is None:
        return []
    kind, outcome, values = found
    out = []
    for k in np.unique(kind).tolist():
        for c in np.unique(outcome[kind == k]).tolist():
            picked = values[(kind == k) & (outcome == c)]
            out.append(
                (int(k), int(c), int(picked.size), float(picked.sum()), float((picked**2).sum()))
            )
    return out
