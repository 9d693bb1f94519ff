"""Import provenance: what was imported where, so a re-import of the same file is never silent."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import Connection, func, select

from predscope.store._util import dump_json, load_json
from predscope.store.branches import validate_branch_name
from predscope.store.records import ImportRecord
from predscope.store.schema import imports
from predscope.store.types import utcnow


def record_import(
    conn: Connection,
    project_id: int,
    branch_name: str,
    kind: str,
    source_name: str,
    sha256: str,
    params: Mapping[str, Any] | None = None,
    report: Mapping[str, Any] | None = None,
) -> ImportRecord:
    now = utcnow()
    values = {
        "project_id": project_id,
        "branch_name": validate_branch_name(branch_name),
        "kind": kind,
        "source_name": source_name,
        "sha256": sha256,
        "created_at": now,
        "params": dump_json(dict(params or {})),
        "report": dump_json(dict(report or {})),
    }
    key = conn.execute(imports.insert().values(**values)).inserted_primary_key
    return ImportRecord(
        id=int(key[0]) if key else 0,
        project_id=project_id,
        branch_name=branch_name,
        kind=kind,
        source_name=source_name,
        sha256=sha256,
        created_at=now,
        params=dict(params or {}),
        report=dict(report or {}),
    )


def last_imports(conn: Connection, project_id: int) -> dict[str, ImportRecord]:
    """The newest import of each branch, for listings: older ones are not read, and neither are
    the ``params`` (left empty here: a COCO onboarding keeps its whole image map there)."""
    newest = (
        select(func.max(imports.c.id))
        .where(imports.c.project_id == project_id)
        .group_by(imports.c.branch_name)
    )
    columns = [c for c in imports.c if c.name != "params"]
    query = select(*columns).where(imports.c.id.in_(newest.scalar_subquery()))
    return {str(m["branch_name"]): _from_row(m) for m in conn.execute(query).mappings()}


def _from_row(m: Any) -> ImportRecord:
    return ImportRecord(
        id=m["id"],
        project_id=m["project_id"],
        branch_name=m["branch_name"],
        kind=m["kind"],
        source_name=m["source_name"],
        sha256=m["sha256"],
        created_at=m["created_at"],
        params=load_json(m["params"]) if "params" in m else {},
        report=load_json(m["report"]),
    )


def find_imports(
    conn: Connection,
    project_id: int,
    *,
    branch_name: str | None = None,
    sha256: str | None = None,
) -> list[ImportRecord]:
    """Oldest first; filter by branch and/or file digest to detect a repeated import."""
    query = select(imports).where(imports.c.project_id == project_id)
    if branch_name is not None:
        query = query.where(imports.c.branch_name == branch_name)
    if sha256 is not None:
        query = query.where(imports.c.sha256 == sha256)
    rows = conn.execute(query.order_by(imports.c.id)).mappings()
    return [_from_row(m) for m in rows]


def delete_imports(conn: Connection, project_id: int, branch_name: str) -> int:
    result = conn.execute(
        imports.delete().where(
            imports.c.project_id == project_id, imports.c.branch_name == branch_name
        )
    )
    return int(result.rowcount)


def rename_imports(conn: Connection, project_id: int, old: str, new: str) -> int:
    """Move the import records of branch ``old`` onto ``new`` (a renamed branch keeps them)."""
    result = conn.execute(
        imports.update()
        .where(imports.c.project_id == project_id, imports.c.branch_name == old)
        .values(branch_name=validate_branch_name(new))
    )
    return int(result.rowcount)
