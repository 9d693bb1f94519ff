"""The lean listing an analysis reads: per branch, one ``ListedRow`` per data unit.

``label_rows.list_row_metadata(branch_name=b)`` lists the same rows as full records (a
``DataUnitRecord`` per unit with its JSON ``extra``, every time converted, SQLAlchemy's result
processing); an analysis reads none of that, and on 10,000 rows building them took 0.33 s of a
1.1 s incremental run. Here the units are read once for all the branches asked, each branch's
rows come from ``ix_label_rows_listing`` alone (m0009) as plain tuples, and the two are joined
in Python. ``tests/store/test_branch_rows.py`` holds both listings equal, field by field.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import Connection, Row, select

from predscope.store.branches import validate_branch_name
from predscope.store.data_units import images_for
from predscope.store.records import ListedRow, ListedUnit
from predscope.store.schema import data_units, label_rows


def _branch_rows(
    conn: Connection, project_id: int, branch_name: str
) -> tuple[Sequence[Row[int, str, int, int, int]], dict[int, datetime]]:
    """(unit id, label hash, objects, classifications, version) of every row of a branch, from
    ``ix_label_rows_listing`` alone, and the edit times of the rows without a version (0), by
    unit id: a change marker reads the edit time only there, and only there is one converted
    (by ``types.UTCDateTime``, as everywhere; ``ix_label_rows_markers`` finds them, none in a
    store written since m0003)."""
    r = label_rows.c
    where = (r.project_id == project_id, r.branch_name == branch_name)
    counts = (r.object_count, r.classification_count)
    rows = conn.execute(select(r.data_unit_id, r.label_hash, *counts, r.version).where(*where))
    unversioned = select(r.data_unit_id, r.last_edited_at).where(*where, r.version == 0)
    return rows.all(), {int(u): e for u, e in conn.execute(unversioned)}


def row_markers(
    conn: Connection, project_id: int, branch_name: str
) -> list[tuple[int, str, datetime | None, int]]:
    """(data unit id, label hash, last edit, version) of every row of a branch: what a change
    marker needs, without reading documents or unit records (freshness of an analysis)."""
    rows, edited = _branch_rows(conn, project_id, branch_name)
    return [(int(u), str(h), edited.get(u), int(v)) for u, h, _, _, v in rows]


def listed_units(conn: Connection, project_id: int) -> list[ListedUnit]:
    """Every data unit of a project in registration (id) order, as an analysis reads it."""
    c = data_units.c
    query = (
        select(c.id, c.data_hash, c.data_title, c.data_type, c.width, c.height, c.number_of_frames)
        .where(c.project_id == project_id)
        .order_by(c.id)
    )
    rows = conn.execute(query).all()
    groups = [row[0] for row in rows if row[3] == "img_group"]
    images = images_for(conn, groups) if groups else {}
    return [ListedUnit(*row, images.get(row[0], ())) for row in rows]


def list_branch_rows(
    conn: Connection, project_id: int, branch_names: Sequence[str]
) -> list[list[ListedRow]]:
    """Per branch asked, what ``list_row_metadata(branch_name=b)`` lists (one record per data
    unit, in unit order; a unit without a row there gets ``ListedRow``'s defaults), lean."""
    branches = [validate_branch_name(b) for b in branch_names]
    units = listed_units(conn, project_id)
    out: list[list[ListedRow]] = []
    for branch in branches:
        rows, edited = _branch_rows(conn, project_id, branch)
        found = {row[0]: row for row in rows}
        listed: list[ListedRow] = []
        for unit in units:
            row = found.get(unit.id)
            if row is None:
                listed.append(ListedRow(unit, branch))
            else:
                at = edited.get(unit.id) if edited else None
                listed.append(ListedRow(unit, branch, row[1], row[2], row[3], row[4], at))
        out.append(listed)
    return out
