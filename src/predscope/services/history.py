"""What happened to a project: every removal, rename and addition, by whom, from where, when.

Services that change a project call ``record`` inside their own transaction, so an event is stored
exactly when the change is. ``origin`` says which front end asked (``python``, ``cli``, later the
server); ``actor`` is the operating-system user and host of the process that did it.
"""

from __future__ import annotations

import getpass
import os
import socket
from collections.abc import Mapping
from typing import Any

from sqlalchemy import Connection

from predscope.exceptions import ResourceNotFoundError
from predscope.store import history as history_repo
from predscope.store import imports as import_repo
from predscope.store import projects as project_repo
from predscope.store.engine import Store
from predscope.store.records import HistoryRecord, ProjectRecord

PYTHON = "python"
CLI = "cli"


def current_actor() -> str:
    """``user@host`` of this process (``PREDSCOPE_ACTOR`` overrides it, e.g. behind a server)."""
    override = os.environ.get("PREDSCOPE_ACTOR")
    if override:
        return override
    try:
        user = getpass.getuser()
    except (KeyError, OSError):  # no passwd entry (some containers)
        user = f"uid {os.getuid()}" if hasattr(os, "getuid") else "unknown"
    return f"{user}@{socket.gethostname()}"


def record(
    conn: Connection,
    project: ProjectRecord,
    action: str,
    subject: str,
    details: Mapping[str, Any],
    *,
    origin: str = PYTHON,
) -> HistoryRecord:
    kept = {k: v for k, v in details.items() if k not in ("action", "subject")}
    return history_repo.record_event(
        conn, project, action, subject, kept, actor=current_actor(), origin=origin
    )


def list_history(store: Store, project: ProjectRecord | str) -> list[HistoryRecord]:
    """The project's events, oldest first, imports included (read from their own records).

    A project that was removed is still found by its hash or title here, so a user can see that
    it was removed, by whom and when.

    >>> for event in list_history(store, "faces"):  # doctest: +SKIP
    ...     print(event.created_at, event.action, event.subject, event.details)
    """
    with store.read() as conn:
        if isinstance(project, ProjectRecord):
            return _events(conn, project)
        try:
            record_ = project_repo.get_project(conn, project)
        except ResourceNotFoundError:
            hashes = history_repo.removed_project_hashes(conn, project)
            if not hashes:
                raise
            return [e for h in hashes for e in history_repo.list_events(conn, h)]
        return _events(conn, record_)


def _events(conn: Connection, project: ProjectRecord) -> list[HistoryRecord]:
    events = history_repo.list_events(conn, project.project_hash)
    for imp in import_repo.find_imports(conn, project.id):
        counts = {
            k: v
            for k, v in imp.report.items()
            if k in ("rows", "objects", "classifications") and isinstance(v, int)
        }
        events.append(
            HistoryRecord(
                id=0,
                project_hash=project.project_hash,
                project_title=project.title,
                action=f"import {imp.kind}",
                subject=imp.branch_name,
                details={"source": imp.source_name, "sha256": imp.sha256, **counts},
                actor="",
                origin="",
                created_at=imp.created_at,
            )
        )
    events.sort(key=lambda e: e.created_at)
    return events
