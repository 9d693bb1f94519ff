"""Keys the Encord-compatible API accepts, and the projects each key's user was granted.

A key belongs to one user (an e-mail address); grants belong to the user, so every key of a user
sees the same projects, and replacing a key does not lose them.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, delete, insert, select

from predscope.exceptions import ResourceExistsError, ResourceNotFoundError
from predscope.store.schema import encord_grants, encord_keys, projects
from predscope.store.types import utcnow


@dataclass(frozen=True, slots=True)
class KeyRecord:
    key_hex: str
    user_email: str
    public_key: str  # the OpenSSH line as registered, comment included
    created_at: datetime


def _record(m: object) -> KeyRecord:
    row = m._mapping  # type: ignore[attr-defined]
    return KeyRecord(row["key_hex"], row["user_email"], row["public_key"], row["created_at"])


def find_key(conn: Connection, key_hex: str) -> KeyRecord | None:
    row = conn.execute(select(encord_keys).where(encord_keys.c.key_hex == key_hex)).first()
    return None if row is None else _record(row)


def add_key(conn: Connection, key_hex: str, user_email: str, public_key: str) -> KeyRecord:
    """Register a key; the same key for the same user again is a no-op (grants may follow)."""
    existing = find_key(conn, key_hex)
    if existing is not None:
        if existing.user_email != user_email:
            raise ResourceExistsError(
                f"key {key_hex[:16]}...: already registered to {existing.user_email} - one key "
                "identifies one user; remove it first (predscope keys remove) to move it"
            )
        return existing
    conn.execute(
        insert(encord_keys).values(
            key_hex=key_hex, user_email=user_email, public_key=public_key, created_at=utcnow()
        )
    )
    found = find_key(conn, key_hex)
    assert found is not None
    return found


def grant_projects(conn: Connection, user_email: str, project_ids: Iterable[int]) -> None:
    """Grant ``user_email`` the projects (already granted ones are kept as they are)."""
    wanted = set(project_ids)
    if not wanted:
        return
    have = set(
        conn.execute(
            select(encord_grants.c.project_id).where(encord_grants.c.user_email == user_email)
        ).scalars()
    )
    now = utcnow()
    new = [
        {"user_email": user_email, "project_id": pid, "created_at": now}
        for pid in sorted(wanted - have)
    ]
    if new:
        conn.execute(insert(encord_grants), new)


def granted_project_ids(conn: Connection, user_email: str) -> set[int]:
    query = select(encord_grants.c.project_id).where(encord_grants.c.user_email == user_email)
    return set(conn.execute(query).scalars())


def list_keys(conn: Connection) -> list[KeyRecord]:
    query = select(encord_keys).order_by(encord_keys.c.user_email, encord_keys.c.created_at)
    return [_record(r) for r in conn.execute(query)]


def granted_project_hashes(conn: Connection) -> dict[str, list[str]]:
    """user e-mail -> hashes of the projects granted, for listings."""
    query = (
        select(encord_grants.c.user_email, projects.c.project_hash)
        .join(projects, projects.c.id == encord_grants.c.project_id)
        .order_by(encord_grants.c.user_email, projects.c.title)
    )
    out: dict[str, list[str]] = {}
    for email, project_hash in conn.execute(query):
        out.setdefault(email, []).append(project_hash)
    return out


def remove_key(conn: Connection, key_hex: str) -> KeyRecord:
    """Forget one key; the user's grants stay for their other keys."""
    found = find_key(conn, key_hex)
    if found is None:
        raise ResourceNotFoundError(
            f"key {key_hex[:16]}...: not registered - `predscope keys list` shows the keys"
        )
    conn.execute(delete(encord_keys).where(encord_keys.c.key_hex == key_hex))
    return found
