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
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, func, select

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


@dataclass(frozen=True, eq=False)
class BranchListing:
    """``list_branch_rows``' records with the rows they were built from, so that the next
    listing of the same branches (an incremental analysis in the same process) compares what
    it reads with them and rebuilds only what differs.

    ``changed`` names, per branch, the units whose row differs from the ``previous`` listing's
    (added, gone or rewritten); None when there was none to compare with or the units differ.
    """

    units: list[ListedUnit]
    records: dict[str, list[ListedRow]]
    changed: dict[str, set[int] | None]
    _units_signature: tuple[Any, ...]
    _rows_read: dict[str, dict[int, tuple[Any, ...]]]
    _summaries: dict[str, tuple[Any, ...]]


def listed_units(conn: Connection, project_id: int) -> list[ListedUnit]:
    """Every data unit of a project in registration (id) order, as an analysis reads it."""
    return _units(*_read_units(conn, project_id))


def units_signature(conn: Connection, project_id: int) -> tuple[Any, ...]:
    """(count, id sum, highest id, newest creation) of a project's data units: equal at two
    reads only if the units are the same, since units (and their image frames) are only ever
    inserted and deleted, never updated (``data_units`` writes them), and any insert or delete
    moves the count or the ids; SQLite's one reuse, the id of a deleted last unit given to the
    next one, comes with a later creation time. One index-led aggregate: 1-3 ms where listing
    5,000 units takes 15-25 ms."""
    c = data_units.c
    query = select(func.count(), func.sum(c.id), func.max(c.id), func.max(c.created_at)).where(
        c.project_id == project_id
    )
    return tuple(conn.execute(query).one())


def _read_units(conn: Connection, project_id: int) -> tuple[list[Any], dict[int, Any]]:
    c = data_units.c
    query = (
        select(c.id, c.data_hash, c.data_title, c.data_type, c.width, c.height, c.number_of_frames)
        .where(c.project_id == project_id)
        .order_by(c.id)
    )
    rows = [tuple(row) for row in conn.execute(query)]
    groups = [row[0] for row in rows if row[3] == "img_group"]
    return rows, (images_for(conn, groups) if groups else {})


def _units(rows: list[Any], images: dict[int, Any]) -> list[ListedUnit]:
    return [_new(ListedUnit, (*row, images.get(row[0], ()))) for row in rows]


def _read_rows(conn: Connection, project_id: int, branch: str) -> dict[int, tuple[Any, ...]]:
    """unit id -> (label hash, object count, classification count, version, edit time where the
    version is 0), from ix_label_rows_listing alone (m0009): the documents are never touched."""
    r = label_rows.c
    query = select(
        r.data_unit_id, r.label_hash, r.object_count, r.classification_count, r.version
    ).where(r.project_id == project_id, r.branch_name == branch)
    rows = conn.execute(query).all()
    edited = _unversioned_edits(conn, project_id, branch, (row[4] for row in rows))
    return {u: (h, o, c, v, edited.get(u) if edited else None) for u, h, o, c, v in rows}


def list_branches(
    conn: Connection,
    project_id: int,
    branch_names: Sequence[str],
    previous: BranchListing | None = None,
    summaries: Sequence[tuple[Any, ...]] | None = None,
) -> BranchListing:
    """Per branch asked, one ``ListedRow`` per data unit (see ``list_branch_rows``); what
    equals ``previous`` (of the same project) is taken from it. ``summaries`` are the
    branches' ``label_rows.branch_summary`` in this snapshot: a branch whose summary equals the
    one ``previous`` was listed under has the same rows (the summary's own rule), unread."""
    branches = [validate_branch_name(b) for b in branch_names]
    signature = units_signature(conn, project_id)
    same_units = previous is not None and previous._units_signature == signature
    if previous is not None and same_units:
        units = previous.units
    else:
        units = _units(*_read_units(conn, project_id))
    records: dict[str, list[ListedRow]] = {}
    changed: dict[str, set[int] | None] = {}
    rows_read: dict[str, dict[int, tuple[Any, ...]]] = {}
    listed_under = dict(zip(branches, summaries, strict=True)) if summaries is not None else {}
    for branch in branches:
        before = None
        if previous is not None and same_units:
            before = previous._rows_read.get(branch)
            summary = listed_under.get(branch)
            unmoved = summary is not None and previous._summaries.get(branch) == summary
            if before is not None and unmoved:
                rows_read[branch], records[branch] = before, previous.records[branch]
                changed[branch] = set()
                continue
        found = rows_read[branch] = _read_rows(conn, project_id, branch)
        if before is None or previous is None:
            records[branch] = [_listed(unit, branch, found.get(unit.id)) for unit in units]
            changed[branch] = None
            continue
        differ = set() if found == before else {u for u, _ in found.items() ^ before.items()}
        changed[branch] = differ
        if not differ:
            records[branch] = previous.records[branch]
            continue
        listed = list(previous.records[branch])
        at = {unit.id: i for i, unit in enumerate(units)}
        for unit_id in differ:
            i = at[unit_id]
            listed[i] = _listed(units[i], branch, found.get(unit_id))
        records[branch] = listed
    return BranchListing(units, records, changed, signature, rows_read, listed_under)


def _listed(unit: ListedUnit, branch: str, row: tuple[Any, ...] | None) -> ListedRow:
    if row is None:  # the branch holds no row for this unit: ``ListedRow``'s defaults
        return ListedRow(unit, branch)
    result: ListedRow = _new(ListedRow, (unit, branch, *row))
    return result


def list_branch_rows(
    conn: Connection, project_id: int, branch_names: Sequence[str]
) -> list[list[ListedRow]]:
    """Per branch asked, what ``list_row_metadata(branch_name=b)`` lists (one record per data
    unit, in unit order; a unit without a row there gets ``ListedRow``'s defaults), lean."""
    listing = list_branches(conn, project_id, branch_names)
    return [listing.records[validate_branch_name(b)] for b in branch_names]
