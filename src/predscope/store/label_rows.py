"""Label-row repository: one JSON document per (data unit, branch), plus indexed columns.

Listing follows Encord's branch semantics (reference section 3). Loading and saving are bulk
operations (chunked IN lists, executemany) so that a bundle of 1,000 rows costs a handful of
statements in one transaction. Documents are serialised with orjson.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import (
    Connection,
    Insert,
    LargeBinary,
    RowMapping,
    Select,
    and_,
    bindparam,
    case,
    delete,
    func,
    select,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError

from predscope.exceptions import (
    InvalidArgumentsError,
    LabelRowConflictError,
    ResourceExistsError,
    ResourceNotFoundError,
)
from predscope.store._util import chunks, new_hash
from predscope.store.branches import MAIN_BRANCH, validate_branch_name
from predscope.store.data_units import images_for, unit_record
from predscope.store.records import DEFAULT_LABEL_STATUS, DataUnitRecord, RowRecord
from predscope.store.schema import data_units, label_row_geometry, label_rows
from predscope.store.types import utcnow

_ROW_COLUMNS = (
    label_rows.c.branch_name.label("lr_branch_name"),
    label_rows.c.label_hash.label("lr_label_hash"),
    label_rows.c.label_status.label("lr_label_status"),
    label_rows.c.created_at.label("lr_created_at"),
    label_rows.c.last_edited_at.label("lr_last_edited_at"),
    label_rows.c.object_count.label("lr_object_count"),
    label_rows.c.classification_count.label("lr_classification_count"),
    label_rows.c.version.label("lr_version"),
)


def _records(conn: Connection, query: Select[Any], placeholder_branch: str) -> list[RowRecord]:
    rows = list(conn.execute(query).mappings())
    group_ids = [m["id"] for m in rows if m["data_type"] == "img_group"]
    images = images_for(conn, group_ids) if group_ids else {}
    units: dict[int, Any] = {}
    out: list[RowRecord] = []
    for m in rows:
        unit = units.get(m["id"])
        if unit is None:
            unit = units[m["id"]] = unit_record(m, images.get(m["id"], ()))
        label_hash = m["lr_label_hash"]
        out.append(
            RowRecord(
                unit=unit,
                branch_name=m["lr_branch_name"] if label_hash else placeholder_branch,
                label_hash=label_hash,
                label_status=m["lr_label_status"] or DEFAULT_LABEL_STATUS,
                created_at=m["lr_created_at"],
                last_edited_at=m["lr_last_edited_at"],
                object_count=m["lr_object_count"] or 0,
                classification_count=m["lr_classification_count"] or 0,
                version=m["lr_version"] or 0,
            )
        )
    return out


def branch_summary(conn: Connection, project_id: int, branch_name: str) -> tuple[Any, ...]:
    """(rows, version sum, id sum, newest edit) of a branch, from ``ix_label_rows_markers``
    alone: every write raises a row's version and every new row takes a new id and a new edit
    time, so a change to the branch changes this summary."""
    r = label_rows.c
    query = select(
        func.count(), func.sum(r.version), func.sum(r.id), func.max(r.last_edited_at)
    ).where(r.project_id == project_id, r.branch_name == branch_name)
    row = conn.execute(query).one()
    return tuple(row)


def list_row_metadata(
    conn: Connection,
    project_id: int,
    *,
    branch_name: str | None = MAIN_BRANCH,
    include_all_branches: bool = False,
    data_hashes: Sequence[str] | None = None,
    label_hashes: Sequence[str] | None = None,
    data_title_eq: str | None = None,
    data_title_like: str | None = None,
    edited_before: datetime | None = None,
    edited_after: datetime | None = None,
    offset: int = 0,
    limit: int | None = None,
) -> list[RowRecord]:
    """With a branch: one record per data unit (``label_hash`` None where the branch has no row).

    ``offset``/``limit`` page the listing in SQL (not with hash filters).

    With ``include_all_branches``: one record per existing (unit, branch), ``main`` first, plus a
    ``main`` placeholder for units that have no row at all. Pass ``branch_name=None`` then.
    ``data_title_like`` is a SQL LIKE pattern (``%`` and ``_``). Label-hash and edited filters
    drop placeholders, which have neither.
    """
    if include_all_branches and branch_name is not None:
        raise InvalidArgumentsError(
            f"list label rows: branch_name={branch_name!r} cannot be combined with "
            "include_all_branches=True - pass one or the other"
        )
    branch = MAIN_BRANCH if branch_name is None else validate_branch_name(branch_name)
    on = label_rows.c.data_unit_id == data_units.c.id
    if not include_all_branches:
        # the project term makes ix_label_rows_listing (project, branch, unit, ...) the best
        # match: a covering read that never touches the documents (m0009)
        on = and_(
            on,
            label_rows.c.project_id == data_units.c.project_id,
            label_rows.c.branch_name == branch,
        )
    query: Select[Any] = (
        select(data_units, *_ROW_COLUMNS)
        .select_from(data_units.outerjoin(label_rows, on))
        .where(data_units.c.project_id == project_id)
    )
    if data_title_eq is not None:
        query = query.where(data_units.c.data_title == data_title_eq)
    if data_title_like is not None:
        query = query.where(data_units.c.data_title.like(data_title_like))
    if edited_before is not None:
        query = query.where(label_rows.c.last_edited_at < edited_before)
    if edited_after is not None:
        query = query.where(label_rows.c.last_edited_at > edited_after)
    query = query.order_by(
        data_units.c.id,
        case((label_rows.c.branch_name == MAIN_BRANCH, 0), else_=1),
        label_rows.c.branch_name,
    )
    if data_hashes is None and label_hashes is None:
        query = query.offset(offset)
        return _records(conn, query if limit is None else query.limit(limit), branch)
    if offset or limit is not None:
        raise InvalidArgumentsError(
            "list label rows: offset/limit page the whole listing - not with data or label hashes"
        )
    out: list[RowRecord] = []
    if data_hashes is not None:
        hashes = list(data_hashes)
        for part in chunks(hashes):
            out.extend(_records(conn, query.where(data_units.c.data_hash.in_(part)), branch))
        if label_hashes is not None:
            wanted = set(label_hashes)
            out = [r for r in out if r.label_hash in wanted]
    else:
        for part in chunks(list(label_hashes or ())):
            out.extend(_records(conn, query.where(label_rows.c.label_hash.in_(part)), branch))
    out.sort(key=lambda r: (r.unit.id, r.branch_name != MAIN_BRANCH, r.branch_name))
    return out


def create_rows(
    conn: Connection,
    project_id: int,
    pairs: Sequence[tuple[str, str]],
    *,
    exist_ok: bool = False,
) -> list[RowRecord]:
    """Create empty rows for ``(data_hash, branch_name)`` pairs; results in the given order.

    A row that already exists raises ``ResourceExistsError`` unless ``exist_ok``, in which case the
    existing row is returned (so two bundles racing to create the same row both succeed).
    """
    if not pairs:
        return []
    for _, branch in pairs:
        validate_branch_name(branch)
    if len(set(pairs)) != len(pairs):
        raise InvalidArgumentsError("create rows: the same (data_hash, branch) pair is given twice")
    units = _unit_records(conn, project_id, sorted({h for h, _ in pairs}))
    existing = _existing(conn, [(units[h].id, b) for h, b in pairs])
    if existing and not exist_ok:
        (unit_id, branch), label_hash = next(iter(existing.items()))
        data_hash = next(h for h, u in units.items() if u.id == unit_id)
        raise ResourceExistsError(
            f"label row for data unit {data_hash} on branch {branch!r} already exists "
            f"(label_hash {label_hash}) - load it instead of creating it"
        )
    now = utcnow()
    new: list[dict[str, Any]] = [
        {
            "project_id": project_id,
            "data_unit_id": units[h].id,
            "branch_name": b,
            "label_hash": new_hash(),
            "label_status": DEFAULT_LABEL_STATUS,
            "created_at": now,
            "last_edited_at": now,
            "document": None,
            "object_count": 0,
            "classification_count": 0,
            "version": 1,
        }
        for h, b in pairs
        if (units[h].id, b) not in existing
    ]
    if new:
        try:
            conn.execute(label_rows.insert(), new)
        except IntegrityError as exc:
            raise ResourceExistsError(
                f"project id {project_id}: another writer created some of these label rows at the "
                "same time - list the rows again and load them"
            ) from exc
    # New rows are described from what was just inserted (no read back); rows that existed
    # already are read, since another writer may have given them labels and a status.
    by_pair: dict[tuple[int, str], RowRecord] = {}
    unit_by_id = {u.id: u for u in units.values()}
    for r in new:
        by_pair[(r["data_unit_id"], r["branch_name"])] = RowRecord(
            unit=unit_by_id[r["data_unit_id"]],
            branch_name=r["branch_name"],
            label_hash=r["label_hash"],
            label_status=DEFAULT_LABEL_STATUS,
            created_at=now,
            last_edited_at=now,
            version=1,
        )
    if existing:
        for record in list_row_metadata(
            conn,
            project_id,
            branch_name=None,
            include_all_branches=True,
            label_hashes=list(existing.values()),
        ):
            by_pair[(record.unit.id, record.branch_name)] = record
    return [by_pair[(units[h].id, b)] for h, b in pairs]


def _unit_records(
    conn: Connection, project_id: int, hashes: Sequence[str]
) -> dict[str, DataUnitRecord]:
    found: dict[str, RowMapping] = {}
    for part in chunks(hashes):
        rows = conn.execute(
            select(data_units).where(
                data_units.c.project_id == project_id, data_units.c.data_hash.in_(part)
            )
        )
        found.update((m["data_hash"], m) for m in rows.mappings())
    missing = [h for h in hashes if h not in found]
    if missing:
        raise ResourceNotFoundError(
            f"project id {project_id}: {len(missing)} data unit(s) not found, e.g. {missing[0]!r} "
            "- add the data first or check the data hashes"
        )
    group_ids = [m["id"] for m in found.values() if m["data_type"] == "img_group"]
    images = images_for(conn, group_ids) if group_ids else {}
    return {h: unit_record(m, images.get(m["id"], ())) for h, m in found.items()}


def _existing(conn: Connection, keys: Sequence[tuple[int, str]]) -> dict[tuple[int, str], str]:
    wanted = set(keys)
    found: dict[tuple[int, str], str] = {}
    unit_ids = sorted({u for u, _ in keys})
    for part in chunks(unit_ids):
        rows = conn.execute(
            select(
                label_rows.c.data_unit_id, label_rows.c.branch_name, label_rows.c.label_hash
            ).where(label_rows.c.data_unit_id.in_(part))
        )
        for unit_id, branch, label_hash in rows:
            if (unit_id, branch) in wanted:
                found[(unit_id, branch)] = label_hash
    return found


def load_documents(conn: Connection, label_hashes: Sequence[str]) -> dict[str, dict[str, Any]]:
    """Stored documents by label hash; a row created but never saved maps to ``{}``."""
    return {h: doc for h, (doc, _) in load_versioned_documents(conn, label_hashes).items()}


def load_versioned_documents(
    conn: Connection, label_hashes: Sequence[str]
) -> dict[str, tuple[dict[str, Any], int]]:
    """``(document, version)`` by label hash, read together so the version is the document's."""
    wanted = list(dict.fromkeys(label_hashes))
    out: dict[str, tuple[dict[str, Any], int]] = {}
    for part in chunks(wanted):
        rows = conn.execute(
            select(label_rows.c.label_hash, label_rows.c.document, label_rows.c.version).where(
                label_rows.c.label_hash.in_(part)
            )
        )
        for label_hash, document, version in rows:
            out[label_hash] = (orjson.loads(document) if document else {}, int(version))
    if len(out) != len(wanted):
        missing = [h for h in wanted if h not in out]
        raise ResourceNotFoundError(
            f"label rows: {len(missing)} label hash(es) not found, e.g. {missing[0]!r} - list the "
            "rows again; they may have been deleted"
        )
    return out


def load_geometry(conn: Connection, label_hashes: Sequence[str]) -> dict[str, bytes | None]:
    """The stored geometry copies by label hash (None: the row has none); hashes not found are
    left out (a reader of a snapshot gets every hash it listed)."""
    out: dict[str, bytes | None] = {}
    r, g = label_rows.c, label_row_geometry.c
    joined = label_rows.outerjoin(label_row_geometry, g.label_row_id == r.id)
    for part in chunks(list(dict.fromkeys(label_hashes))):
        rows = conn.execute(
            select(r.label_hash, g.geometry).select_from(joined).where(r.label_hash.in_(part))
        )
        out.update((h, None if data is None else bytes(data)) for h, data in rows)
    return out


def _save_geometry(conn: Connection, copies: Mapping[str, bytes | None]) -> None:
    """Replace the geometry copies of the rows ``copies`` names (None: the row keeps none): one
    upsert for the copies given, a delete only where a row is left without one."""
    g = label_row_geometry.c
    for part in chunks([h for h, data in copies.items() if data is None]):
        ids = select(label_rows.c.id).where(label_rows.c.label_hash.in_(part))
        conn.execute(delete(label_row_geometry).where(g.label_row_id.in_(ids)))
    rows = [{"b_hash": h, "b_geometry": data} for h, data in copies.items() if data is not None]
    if rows:
        conn.execute(_upsert_geometry(conn.dialect.name), rows)


@functools.cache
def _upsert_geometry(dialect: str) -> Insert:
    """INSERT the copy of the row named ``b_hash`` or, where it has one, replace it (both
    dialects' ON CONFLICT; the SELECT's WHERE also keeps SQLite's parse unambiguous)."""
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    source = select(label_rows.c.id, bindparam("b_geometry", type_=LargeBinary)).where(
        label_rows.c.label_hash == bindparam("b_hash")
    )
    statement = insert(label_row_geometry).from_select(["label_row_id", "geometry"], source)
    return statement.on_conflict_do_update(
        index_elements=[label_row_geometry.c.label_row_id],
        set_={"geometry": statement.excluded.geometry},
    )


def _check_versions(conn: Connection, expected: Mapping[str, int]) -> None:
    """Lock the rows (PostgreSQL; SQLite's writer already holds the lock) and refuse stale ones."""
    wanted = sorted(expected)
    for part in chunks(wanted):
        rows = conn.execute(
            select(
                label_rows.c.label_hash,
                label_rows.c.version,
                label_rows.c.branch_name,
                data_units.c.data_title,
            )
            .select_from(label_rows.join(data_units, label_rows.c.data_unit_id == data_units.c.id))
            .where(label_rows.c.label_hash.in_(part))
            .order_by(label_rows.c.id)
            .with_for_update(of=label_rows)
        )
        for label_hash, version, branch, title in rows:
            if int(version) != expected[label_hash]:
                raise LabelRowConflictError(
                    f"label row {title!r} on branch {branch!r} (label_hash {label_hash}) was "
                    f"saved by another writer after this copy was read (stored version "
                    f"{version}, read at version {expected[label_hash]}); nothing was saved - "
                    "list the row again (or row.initialise_labels(overwrite=True)), redo the "
                    "change on the fresh copy and save it"
                )


def save_documents(
    conn: Connection,
    items: Sequence[tuple[str, Mapping[str, Any], int, int, bytes | None]],
    *,
    expected_versions: Mapping[str, int] | None = None,
) -> None:
    """Replace the documents of existing rows:
    ``(label_hash, document, objects, classifications, geometry)``.

    ``geometry`` is the document's evaluated-geometry copy (``formats.row_geometry``) or None;
    it is replaced in ``label_row_geometry`` in the same transaction as the document (this is
    the only writer of either), so a stored copy always belongs to the stored document.
    ``label_status`` is taken from the document when it carries one. One executemany for all
    rows. Every write adds one to the row's version; a row listed in ``expected_versions`` must
    still be at that version, else ``LabelRowConflictError`` (raised before anything is
    written).
    """
    if not items:
        return
    if expected_versions:
        _check_versions(conn, expected_versions)
    now = utcnow()
    params: list[dict[str, Any]] = []
    for label_hash, document, object_count, classification_count, _ in items:
        status = document.get("label_status")
        params.append(
            {
                "b_label_hash": label_hash,
                "document": orjson.dumps(document),
                "object_count": object_count,
                "classification_count": classification_count,
                "label_status": status if isinstance(status, str) else DEFAULT_LABEL_STATUS,
                "last_edited_at": now,
            }
        )
    statement = (
        label_rows.update()
        .where(label_rows.c.label_hash == bindparam("b_label_hash"))
        .values(
            document=bindparam("document"),
            object_count=bindparam("object_count"),
            classification_count=bindparam("classification_count"),
            label_status=bindparam("label_status"),
            last_edited_at=bindparam("last_edited_at"),
            version=label_rows.c.version + 1,
        )
    )
    result = conn.execute(statement, params)
    if not (conn.dialect.supports_sane_multi_rowcount and result.rowcount == len(params)):
        # Rowcount missing or short: find which hashes do not exist, for a precise message.
        _require_rows(conn, [p["b_label_hash"] for p in params])
    _save_geometry(conn, {item[0]: item[4] for item in items})


def _require_rows(conn: Connection, label_hashes: Sequence[str]) -> None:
    """Raise ``ResourceNotFoundError`` naming a label hash that has no row."""
    wanted = list(dict.fromkeys(label_hashes))
    found: set[str] = set()
    for part in chunks(wanted):
        found.update(
            conn.execute(
                select(label_rows.c.label_hash).where(label_rows.c.label_hash.in_(part))
            ).scalars()
        )
    missing = [h for h in wanted if h not in found]
    if missing:
        raise ResourceNotFoundError(
            f"save label rows: {len(missing)} label hash(es) have no row, e.g. {missing[0]!r} - "
            "initialise the rows (which creates them) before saving"
        )


def branch_counts(conn: Connection, project_id: int) -> dict[str, tuple[int, int, int]]:
    """Per branch holding a row (``main`` first, then by name): rows, objects, classifications,
    summed in SQL over the (project, branch) index."""
    c = label_rows.c
    query = (
        select(
            c.branch_name,
            func.count(),
            func.coalesce(func.sum(c.object_count), 0),
            func.coalesce(func.sum(c.classification_count), 0),
        )
        .where(c.project_id == project_id)
        .group_by(c.branch_name)
    )
    found = {str(b): (int(n), int(o), int(k)) for b, n, o, k in conn.execute(query)}
    return {b: found[b] for b in sorted(found, key=lambda b: (b != MAIN_BRANCH, b))}


def list_branches(conn: Connection, project_id: int) -> list[str]:
    """Branches that hold at least one row, ``main`` first, then by name."""
    names = conn.execute(
        select(label_rows.c.branch_name).where(label_rows.c.project_id == project_id).distinct()
    ).scalars()
    return sorted((str(n) for n in names), key=lambda b: (b != MAIN_BRANCH, b))


def delete_branch_rows(
    conn: Connection, project_id: int, branch_name: str, *, allow_main: bool = False
) -> int:
    """Delete every row of a branch; ``main`` (ground truth) only with ``allow_main``."""
    validate_branch_name(branch_name)
    if branch_name == MAIN_BRANCH and not allow_main:
        raise InvalidArgumentsError(
            "delete branch 'main': it holds the ground truth - pass allow_main=True to really "
            "delete it"
        )
    result = conn.execute(
        delete(label_rows).where(
            label_rows.c.project_id == project_id, label_rows.c.branch_name == branch_name
        )
    )
    return int(result.rowcount)


def count_branch_rows(conn: Connection, project_id: int, branch_name: str) -> tuple[int, int]:
    """(rows, objects) on a branch."""
    rows, objects = conn.execute(
        select(
            func.count(label_rows.c.id), func.coalesce(func.sum(label_rows.c.object_count), 0)
        ).where(label_rows.c.project_id == project_id, label_rows.c.branch_name == branch_name)
    ).one()
    return int(rows), int(objects)


def rename_branch_rows(conn: Connection, project_id: int, old: str, new: str) -> int:
    """Move every row of ``old`` onto ``new`` (each row's version goes up: the row changed)."""
    result = conn.execute(
        label_rows.update()
        .where(label_rows.c.project_id == project_id, label_rows.c.branch_name == old)
        .values(branch_name=new, version=label_rows.c.version + 1, last_edited_at=utcnow())
    )
    return int(result.rowcount)


def delete_unit_rows(conn: Connection, unit_ids: Sequence[int]) -> tuple[int, int]:
    """Delete the rows of these data units on every branch; returns (rows, objects) deleted."""
    rows = objects = 0
    for part in chunks(list(unit_ids)):
        where = label_rows.c.data_unit_id.in_(part)
        n, o = conn.execute(
            select(
                func.count(label_rows.c.id), func.coalesce(func.sum(label_rows.c.object_count), 0)
            ).where(where)
        ).one()
        conn.execute(delete(label_rows).where(where))
        rows, objects = rows + int(n), objects + int(o)
    return rows, objects


def count_unit_objects(conn: Connection, unit_ids: Sequence[int], branch_name: str) -> int:
    """Objects plus classifications these units hold on one branch (what removing them loses)."""
    total = 0
    for part in chunks(list(unit_ids)):
        total += int(
            conn.execute(
                select(
                    func.coalesce(
                        func.sum(label_rows.c.object_count + label_rows.c.classification_count), 0
                    )
                ).where(
                    label_rows.c.data_unit_id.in_(part), label_rows.c.branch_name == branch_name
                )
            ).scalar_one()
        )
    return total
