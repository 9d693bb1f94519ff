"""Project repository: create, find by hash or title, list, replace the ontology."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import Connection, Row, select
from sqlalchemy.exc import IntegrityError

from predscope.exceptions import InvalidArgumentsError, ResourceExistsError, ResourceNotFoundError
from predscope.store._util import dump_json, load_json, new_hash
from predscope.store.records import ProjectRecord
from predscope.store.schema import projects
from predscope.store.types import utcnow

_LISTED_TITLES = 20


def _record(row: Row[Any]) -> ProjectRecord:
    m = row._mapping
    return ProjectRecord(
        id=m["id"],
        project_hash=m["project_hash"],
        title=m["title"],
        description=m["description"],
        ontology=load_json(m["ontology"]),
        created_at=m["created_at"],
        last_edited_at=m["last_edited_at"],
    )


def create_project(
    conn: Connection,
    title: str,
    ontology: Mapping[str, Any],
    description: str = "",
    *,
    project_hash: str | None = None,
) -> ProjectRecord:
    """Titles are unique so that scripts can find a project by title alone."""
    if not isinstance(title, str) or not title.strip():
        raise InvalidArgumentsError(f"project title {title!r}: must be a non-empty string")
    existing = conn.execute(select(projects.c.id).where(projects.c.title == title)).first()
    if existing is not None:
        raise ResourceExistsError(
            f"project {title!r} already exists - choose another title or open it with get_project"
        )
    now = utcnow()
    values = {
        "project_hash": project_hash or new_hash(),
        "title": title,
        "description": description,
        "ontology": dump_json(dict(ontology)),
        "created_at": now,
        "last_edited_at": now,
    }
    try:
        new_id = conn.execute(projects.insert().values(**values)).inserted_primary_key
    except IntegrityError as exc:
        raise ResourceExistsError(
            f"project {title!r} (hash {values['project_hash']}) already exists - choose another "
            "title"
        ) from exc
    if new_id is None:  # pragma: no cover - every backend returns the key
        raise ResourceNotFoundError(f"project {title!r}: the new id was not returned")
    return get_project_by_id(conn, int(new_id[0]))


def get_project_by_id(conn: Connection, project_id: int) -> ProjectRecord:
    row = conn.execute(select(projects).where(projects.c.id == project_id)).first()
    if row is None:
        raise ResourceNotFoundError(f"project id {project_id}: no such project in this store")
    return _record(row)


def get_project(conn: Connection, hash_or_title: str) -> ProjectRecord:
    """Hash first, then title, as users pass either."""
    row = conn.execute(select(projects).where(projects.c.project_hash == hash_or_title)).first()
    if row is None:
        row = conn.execute(select(projects).where(projects.c.title == hash_or_title)).first()
    if row is not None:
        return _record(row)
    titles = list(
        conn.execute(
            select(projects.c.title).order_by(projects.c.title).limit(_LISTED_TITLES + 1)
        ).scalars()
    )
    if not titles:
        known = "the store has no projects yet - create one first"
    else:
        shown = ", ".join(repr(t) for t in titles[:_LISTED_TITLES])
        more = ", ..." if len(titles) > _LISTED_TITLES else ""
        known = f"known projects: {shown}{more}"
    raise ResourceNotFoundError(
        f"project {hash_or_title!r}: no project has this hash or title; {known}"
    )


def list_projects(conn: Connection) -> list[ProjectRecord]:
    rows = conn.execute(select(projects).order_by(projects.c.created_at, projects.c.id))
    return [_record(r) for r in rows]


def update_ontology(
    conn: Connection, project_id: int, ontology: Mapping[str, Any]
) -> ProjectRecord:
    result = conn.execute(
        projects.update()
        .where(projects.c.id == project_id)
        .values(ontology=dump_json(dict(ontology)), last_edited_at=utcnow())
    )
    if result.rowcount == 0:
        raise ResourceNotFoundError(f"project id {project_id}: no such project in this store")
    return get_project_by_id(conn, project_id)


def touch_project(conn: Connection, project_id: int) -> None:
    conn.execute(
        projects.update().where(projects.c.id == project_id).values(last_edited_at=utcnow())
    )


def lock_project(conn: Connection, project_id: int) -> None:
    """Serialise writers that check-then-change one project (PostgreSQL row lock; SQLite's writer
    lock already serialises), so two removals or additions cannot both pass their checks."""
    found = conn.execute(
        select(projects.c.id).where(projects.c.id == project_id).with_for_update()
    ).first()
    if found is None:
        raise ResourceNotFoundError(
            f"project id {project_id}: no such project in this store - it may have been removed"
        )


def delete_project(conn: Connection, project_id: int) -> int:
    """Delete a project; its units, label rows and imports go with it (foreign keys cascade)."""
    result = conn.execute(projects.delete().where(projects.c.id == project_id))
    return int(result.rowcount)
