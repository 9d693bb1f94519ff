"""Project history: removals, renames and additions, with who did them, from where and when.

Rows keep the project's hash and title rather than a foreign key, so the record of a removed
project is still there to read after the project is gone.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import Connection, or_, select

from predscope.store._util import dump_json, load_json
from predscope.store.records import HistoryRecord, ProjectRecord
from predscope.store.schema import history
from predscope.store.types import utcnow


def record_event(
    conn: Connection,
    project: ProjectRecord,
    action: str,
    subject: str,
    details: Mapping[str, Any],
    *,
    actor: str,
    origin: str,
) -> HistoryRecord:
    now = utcnow()
    actor, origin = actor[:200], origin[:40]
    values: dict[str, Any] = {
        "project_hash": project.project_hash,
        "project_title": project.title,
        "action": action,
        "subject": subject,
        "details": dump_json(dict(details)),
        "actor": actor,
        "origin": origin,
        "created_at": now,
    }
    key = conn.execute(history.insert().values(**values)).inserted_primary_key
    return HistoryRecord(
        id=int(key[0]) if key else 0,
        project_hash=project.project_hash,
        project_title=project.title,
        action=action,
        subject=subject,
        details=dict(details),
        actor=actor,
        origin=origin,
        created_at=now,
    )


def list_events(conn: Connection, project_hash: str) -> list[HistoryRecord]:
    """Oldest first."""
    rows = conn.execute(
        select(history).where(history.c.project_hash == project_hash).order_by(history.c.id)
    ).mappings()
    return [
        HistoryRecord(
            id=m["id"],
            project_hash=m["project_hash"],
            project_title=m["project_title"],
            action=m["action"],
            subject=m["subject"],
            details=load_json(m["details"]),
            actor=m["actor"],
            origin=m["origin"],
            created_at=m["created_at"],
        )
        for m in rows
    ]


def removed_project_hashes(conn: Connection, hash_or_title: str) -> list[str]:
    """Hashes of projects with history under this hash or title (the project may be gone)."""
    rows = conn.execute(
        select(history.c.project_hash)
        .where(
            or_(history.c.project_hash == hash_or_title, history.c.project_title == hash_or_title)
        )
        .distinct()
    ).scalars()
    return [str(h) for h in rows]
