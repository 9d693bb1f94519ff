"""A branch's row fingerprint: what a run records of each branch and what freshness compares.

The digest covers every row's markers, so reading it costs a pass over the branch; it is kept
per process under the branch's index-only summary (``label_rows.branch_summary``), recomputed
only when that moves (every page shows freshness), and an analysis run, which has just read
every row, leaves its own digests in the cache for the metrics read that follows it.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from collections.abc import Iterable, Sequence
from datetime import datetime
from operator import itemgetter
from typing import Any

from sqlalchemy import Connection

from predscope.store.branch_rows import row_markers
from predscope.store.label_rows import branch_summary
from predscope.store.records import ListedRow

_CACHE: OrderedDict[tuple[str, int, str], tuple[tuple[Any, ...], str]] = OrderedDict()
_CACHE_MAX = 512
_LOCK = threading.Lock()


def fingerprint(records: Sequence[ListedRow]) -> str:
    """sha256 of the (unit, label hash, edit time, version) of every row of a branch."""
    return fingerprint_of(
        (r.unit.id, r.label_hash, r.edited_at, r.version)
        for r in records
        if r.label_hash is not None
    )


def fingerprint_of(markers: Iterable[tuple[int, str, datetime | None, int]]) -> str:
    """The same digest from (unit id, label hash, last edit, version) tuples (``row_markers``):
    the edit time counts only for a row without a version, as in ``listing.row_state``."""
    lines = [
        f"{unit_id}|{label_hash}|"
        f"{'' if row_version or edited_at is None else edited_at.isoformat()}|"
        f"{row_version or None}\n"
        for unit_id, label_hash, edited_at, row_version in sorted(markers, key=itemgetter(0))
    ]
    # one update of the joined lines: the same digest as one update per line, a third the time
    return hashlib.sha256("".join(lines).encode()).hexdigest()


def _key(conn: Connection, project_id: int, branch: str) -> tuple[str, int, str]:
    return (conn.engine.url.render_as_string(hide_password=False), project_id, branch)


def _keep(key: tuple[str, int, str], summary: tuple[Any, ...], digest: str) -> None:
    with _LOCK:
        _CACHE[key] = (summary, digest)
        _CACHE.move_to_end(key)
        while len(_CACHE) > _CACHE_MAX:
            _CACHE.popitem(last=False)


def branch_fingerprint(conn: Connection, project_id: int, branch: str) -> str:
    """``fingerprint_of(row_markers(...))``, recomputed only when the branch's summary moved."""
    key = _key(conn, project_id, branch)
    summary = branch_summary(conn, project_id, branch)
    with _LOCK:
        cached = _CACHE.get(key)
        if cached is not None and cached[0] == summary:
            _CACHE.move_to_end(key)
            return cached[1]
    digest = fingerprint_of(row_markers(conn, project_id, branch))
    _keep(key, summary, digest)
    return digest


def summaries(conn: Connection, project_id: int, branches: Sequence[str]) -> list[tuple[Any, ...]]:
    """The branches' summaries, read BEFORE their rows for ``remember``: a write landing in
    between then leaves a summary older than the rows, which the next read recomputes."""
    return [branch_summary(conn, project_id, b) for b in branches]


def remember(
    conn: Connection,
    project_id: int,
    branch: str,
    summary: tuple[Any, ...],
    records: Sequence[ListedRow],
    digest: str | None = None,
) -> str:
    """``fingerprint(records)``, kept as the branch's cached fingerprint under ``summary``
    (from ``summaries``, read before ``records``, which must be every row of the branch);
    ``digest`` is that fingerprint when the caller knows it (the same rows as a run before)."""
    if digest is None:
        digest = fingerprint(records)
    _keep(_key(conn, project_id, branch), summary, digest)
    return digest
