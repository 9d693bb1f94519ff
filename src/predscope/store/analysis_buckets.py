"""Counts of a set's stored objects by (kind, property bucket, outcome at a threshold): one
grouped scan per property, for "performance by property" (``services.analysis.by_property``)."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import Connection, case, func, select

from predscope.store.schema import analysis_objects as o


def bucket_counts(
    conn: Connection, set_id: int, threshold: int, prop: str, edges: Sequence[float]
) -> list[tuple[int, int, int, int]]:
    """(kind, bucket, outcome code at ``threshold``, count); bucket i holds values in
    [edges[i-1], edges[i]) (bucket 0 below edges[0], the last at or above edges[-1]); objects
    whose property is NULL are left out."""
    column = o.c[prop]
    bucket = case(*[(column < edge, i) for i, edge in enumerate(edges)], else_=len(edges)).label(
        "bucket"
    )
    outcome = o.c[f"o{threshold}"]
    query = (
        select(o.c.kind, bucket, outcome, func.count())
        .where(o.c.set_id == set_id, column.is_not(None))
        .group_by(o.c.kind, bucket, outcome)
    )
    return [(int(k), int(b), int(c), int(n)) for k, b, c, n in conn.execute(query)]


def moment_sums(
    conn: Connection, set_id: int, threshold: int, prop: str
) -> list[tuple[int, int, int, float, float]]:
    """(kind, outcome code, count, sum of the property, sum of its square) over the set's
    objects with the property defined: what a correlation with the outcome needs."""
    column = o.c[prop]
    outcome = o.c[f"o{threshold}"]
    query = (
        select(o.c.kind, outcome, func.count(), func.sum(column), func.sum(column * column))
        .where(o.c.set_id == set_id, column.is_not(None))
        .group_by(o.c.kind, outcome)
    )
    return [
        (int(k), int(c), int(n), float(sx or 0.0), float(sxx or 0.0))
        for k, c, n, sx, sxx in conn.execute(query)
    ]
