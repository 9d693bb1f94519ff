"""Small helpers the repositories share: chunked IN lists, JSON columns, uuids, large values
rewritten in place."""

from __future__ import annotations

import uuid
from collections.abc import Iterator, Sequence
from typing import Any, TypeVar

import orjson
from sqlalchemy import Column, case
from sqlalchemy.sql.elements import ColumnElement

T = TypeVar("T")

# Below SQLite's oldest bound-parameter limit (999), so IN lists work on every build.
IN_CHUNK = 900


def chunks(items: Sequence[T], size: int = IN_CHUNK) -> Iterator[Sequence[T]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def new_hash() -> str:
    return str(uuid.uuid4())


def dump_json(value: Any) -> str:
    return orjson.dumps(value).decode()


def load_json(text: str | bytes | None) -> dict[str, Any]:
    if not text:
        return {}
    value = orjson.loads(text)
    return value if isinstance(value, dict) else {}


def rewritten(column: Column[Any], value: ColumnElement[Any], dialect: str) -> ColumnElement[Any]:
    """The SET value of an UPDATE that rewrites a large binary ``column`` with ``value``, so
    rewriting unchanged bytes writes next to nothing.

    SQLite overwrites a value of the same size in place and dirties only the pages whose bytes
    differ. PostgreSQL writes a new TOAST value for any value given, but keeps the old one when
    the new value is the stored column itself: hence the CASE there (on SQLite it would only
    compare the bytes twice).
    """
    if dialect == "postgresql":
        return case((column == value, column), else_=value)
    return value
