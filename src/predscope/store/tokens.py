"""API tokens for ``predscope serve``: only a SHA-256 digest of each token is stored.

A token is 256 random bits, so a plain digest is as good as a slow password hash here (there is
nothing to brute-force) and lets a request be checked with one indexed lookup.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, RowMapping, delete, func, select

from predscope.store._util import new_hash
from predscope.store.schema import api_tokens
from predscope.store.types import utcnow


@dataclass(frozen=True, slots=True)
class TokenRecord:
    token_id: str
    name: str
    prefix: str  # the first characters of the token, so a person can tell tokens apart
    created_at: datetime


def _record(m: Mapping[str, Any] | RowMapping) -> TokenRecord:
    return TokenRecord(m["token_id"], m["name"], m["prefix"], m["created_at"])


def add_token(conn: Connection, name: str, prefix: str, digest: str) -> TokenRecord:
    token_id, now = new_hash(), utcnow()
    values = {
        "token_id": token_id,
        "name": name,
        "prefix": prefix,
        "token_sha256": digest,
        "created_at": now,
    }
    conn.execute(api_tokens.insert().values(**values))
    return TokenRecord(token_id, name, prefix, now)


def find_token(conn: Connection, digest: str) -> TokenRecord | None:
    m = conn.execute(select(api_tokens).where(api_tokens.c.token_sha256 == digest)).mappings()
    first = m.first()
    return _record(first) if first is not None else None


def list_tokens(conn: Connection) -> list[TokenRecord]:
    rows = conn.execute(select(api_tokens).order_by(api_tokens.c.id)).mappings()
    return [_record(m) for m in rows]


def count_tokens(conn: Connection) -> int:
    return int(conn.execute(select(func.count()).select_from(api_tokens)).scalar() or 0)


def delete_token(conn: Connection, token_id_or_prefix: str) -> int:
    """Delete by id or by prefix; returns how many were deleted."""
    query = delete(api_tokens).where(
        (api_tokens.c.token_id == token_id_or_prefix) | (api_tokens.c.prefix == token_id_or_prefix)
    )
    return int(conn.execute(query).rowcount or 0)
