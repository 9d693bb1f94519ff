"""Where a synced project came from, and the markers of each row as the last sync left it.

A local project has at most one source (one project on one server); a source feeds one local
project. The row markers are the source's label hash and edit time (what the server lists
without sending labels) and the local row's version right after the sync wrote it.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, delete, insert, select, update

from predscope.store._util import chunks
from predscope.store.schema import sync_rows, sync_sources
from predscope.store.types import utcnow

RowKey = tuple[str, str]  # (branch name, data hash)


@dataclass(frozen=True, slots=True)
class SyncSourceRecord:
    id: int
    project_id: int
    kind: str
    domain: str
    source_project_hash: str
    created_at: datetime
    last_synced_at: datetime


@dataclass(frozen=True, slots=True)
class SyncedRow:
    branch_name: str
    data_hash: str
    source_label_hash: str
    source_edited: str
    local_version: int

    @property
    def key(self) -> RowKey:
        return (self.branch_name, self.data_hash)


def _record(row: object) -> SyncSourceRecord:
    m = row._mapping  # type: ignore[attr-defined]
    return SyncSourceRecord(
        int(m["id"]),
        int(m["project_id"]),
        str(m["kind"]),
        str(m["domain"]),
        str(m["source_project_hash"]),
        m["created_at"],
        m["last_synced_at"],
    )


def find_source(
    conn: Connection, kind: str, domain: str, source_project_hash: str
) -> SyncSourceRecord | None:
    c = sync_sources.c
    row = conn.execute(
        select(sync_sources).where(
            c.kind == kind, c.domain == domain, c.source_project_hash == source_project_hash
        )
    ).first()
    return None if row is None else _record(row)


def source_of(conn: Connection, project_id: int) -> SyncSourceRecord | None:
    row = conn.execute(select(sync_sources).where(sync_sources.c.project_id == project_id)).first()
    return None if row is None else _record(row)


def create_source(
    conn: Connection, project_id: int, kind: str, domain: str, source_project_hash: str
) -> SyncSourceRecord:
    now = utcnow()
    conn.execute(
        insert(sync_sources).values(
            project_id=project_id,
            kind=kind,
            domain=domain,
            source_project_hash=source_project_hash,
            created_at=now,
            last_synced_at=now,
        )
    )
    found = source_of(conn, project_id)
    assert found is not None
    return found


def touch_source(conn: Connection, source_id: int) -> None:
    conn.execute(
        update(sync_sources).where(sync_sources.c.id == source_id).values(last_synced_at=utcnow())
    )


def load_synced_rows(conn: Connection, source_id: int) -> dict[RowKey, SyncedRow]:
    c = sync_rows.c
    query = select(
        c.branch_name, c.data_hash, c.source_label_hash, c.source_edited, c.local_version
    ).where(c.source_id == source_id)
    out: dict[RowKey, SyncedRow] = {}
    for branch, data_hash, label_hash, edited, version in conn.execute(query):
        row = SyncedRow(str(branch), str(data_hash), str(label_hash), str(edited), int(version))
        out[row.key] = row
    return out


def save_synced_rows(conn: Connection, source_id: int, rows: Sequence[SyncedRow]) -> None:
    """Replace the markers of ``rows`` (by branch and data hash); others stay as they are."""
    by_branch: Mapping[str, list[str]] = defaultdict(list)
    for r in rows:
        by_branch[r.branch_name].append(r.data_hash)
    c = sync_rows.c
    for branch, hashes in by_branch.items():
        for part in chunks(hashes):
            conn.execute(
                delete(sync_rows).where(
                    c.source_id == source_id, c.branch_name == branch, c.data_hash.in_(part)
                )
            )
    values = [
        {
            "source_id": source_id,
            "branch_name": r.branch_name,
            "data_hash": r.data_hash,
            "source_label_hash": r.source_label_hash,
            "source_edited": r.source_edited,
            "local_version": r.local_version,
        }
        for r in rows
    ]
    if values:
        conn.execute(insert(sync_rows), values)
