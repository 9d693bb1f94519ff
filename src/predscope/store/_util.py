"""Small helpers the repositories share: chunked IN lists, JSON columns, uuids."""

from __future__ import annotations

import uuid
from collections.abc import Iterator, Sequence
from typing import Any, TypeVar

import orjson

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
