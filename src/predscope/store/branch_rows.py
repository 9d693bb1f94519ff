"""The lean listing an analysis reads: per branch, one ``ListedRow`` per data unit.

``label_rows.list_row_metadata(branch_name=b)`` lists the same rows as full records (a
``DataUnitRecord`` per unit with its JSON ``extra``, every time converted, SQLAlchemy's result
processing); an analysis reads none of that, and on 10,000 rows building them took 0.33 s of a
1.1 s incremental run. Here the units are read once for all the branches asked, each branch's
rows come from ``ix_label_rows_listing`` alone (m0009) as plain tuples, and the two are joined
in Python. ``tests/store/test_branch_rows.py`` holds both listings equal, field by field.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime

from sqlalchemy import Connection, select

from predscope.store.branches import validate_branch_name
from predscope.store.data_units import images_for
from predscope.store.records import ListedRow, ListedUnit
from predscope.store.schema import data_units, label_rows

# A NamedTuple's own ``__new__`` is a Python function; ``tuple.__new__`` builds the same record
# in C (``_make`` does the same), a third of the cost of the 15,000 a run's listing builds.
_new = tuple.__new__


def _unversioned_edits(
    conn: Connection, project_id: int, branch_name: str, versions: Iterable[int]
) -> dict[int, datetime]:
    """The edit times of a branch's rows without a version (0), by unit id, read only when
    ``versions`` (the rows' listed) holds a 0: a change marker reads the edit time only there,
    so only there is one read and converted (by ``types.UTCDateTime``, as everywhere). A store
    written since m0003 has none."""
    if all(versions):
        return {}
    r = label_rows.c
    query = select(r.data_unit_id, r.last_edited_at).where(
        r.project_id == project_id, r.branch_name == branch_name, r.version == 0
    )
    return {int(u): e for u, e in conn.execute(query)}


def row_markers(
    conn: Connection, project_id: int, branch_name: str
) -> list[tuple[int, str, datetime | None, int]]:
    """(data unit id, label hash, last edit, version) of every row of a branch: what a change
    marker needs, without reading documents or unit records (freshness of an analysis)."""
    r = label_rows.c
    query = select(r.data_unit_id, r.label_hash, r.version).where(
        r.project_id == project_id, r.branch_name == branch_name
    )
    rows = conn.execute(query).all()
    edited = _unversioned_edits(conn, project_id, branch_name, (row[2] for row in rows))
    return [(int(u), str(h), edited.get(u), int(v)) for u, h, v in rows]


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
    return [_new(ListedUnit, (*row, images.get(row[0], ()))) for row in rows]


def list_branch_rows(
    conn: Connection, project_id: int, branch_names: Sequence[str]
) -> list[list[ListedRow]]:
    """Per branch asked, what ``list_row_metadata(branch_name=b)`` lists (one record per data
    unit, in unit order; a unit without a row there gets ``ListedRow``'s defaults), lean."""
    branches = [validate_branch_name(b) for b in branch_names]
    units = listed_units(conn, project_id)
    r = label_rows.c
    counts = (r.object_count, r.classification_count)
    out: list[list[ListedRow]] = []
    for branch in branches:
        # from ix_label_rows_listing alone (m0009): the documents are never touched
        query = select(r.data_unit_id, r.label_hash, *counts, r.version).where(
            r.project_id == project_id, r.branch_name == branch
        )
        rows = conn.execute(query).all()
        found = {row[0]: row for row in rows}
        edited = _unversioned_edits(conn, project_id, branch, (row[4] for row in rows))
        listed: list[ListedRow] = []
        for unit in units:
            row = found.get(unit.id)
            if row is None:
                listed.append(ListedRow(unit, branch))
            else:
                at = edited.get(unit.id) if edited else None
                listed.append(_new(ListedRow, (unit, branch, row[1], row[2], row[3], row[4], at)))
        out.append(listed)
    return out
