"""Analysis repository: prediction sets, their runs, and the row state each complete run saw.

A *prediction set* is one (project, branch, ground-truth branch) pair; it points at its latest
complete run, whose per-object outcomes are stored as columns (``store.object_columns``).
A run row is written twice: once when it starts (status ``running``, committed at once so others
see it) and once when it ends (``complete`` in the same transaction as its results, or ``failed``
with the error). A process killed in between leaves ``running`` with its pid and host, which
``services.analysis.runs`` recognises as interrupted.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, NamedTuple

import orjson
from sqlalchemy import Connection, LargeBinary, RowMapping, delete, literal, select, update

from predscope.store._util import chunks, dump_json, load_json, rewritten
from predscope.store.schema import (
    analysis_curves,
    analysis_rows,
    analysis_runs,
    analysis_sets,
    analysis_state_blocks,
)
from predscope.store.types import utcnow

REVIEW_STATUSES = ("needs_review", "in_review", "reviewed")
GT_SIDE, PRED_SIDE = 0, 1


@dataclass(frozen=True, slots=True)
class SetRecord:
    id: int
    project_id: int
    branch_name: str
    against: str
    latest_run_id: int | None
    review_status: str
    notes: str
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class RunRecord:
    id: int
    set_id: int
    status: str
    error: str | None
    params: dict[str, Any]
    engine_version: str
    gt_fingerprint: str | None
    pred_fingerprint: str | None
    mode: str | None
    changed_units: int | None
    pid: int | None
    host: str | None
    started_at: datetime
    heartbeat_at: datetime
    finished_at: datetime | None
    timings: dict[str, Any]
    progress: dict[str, Any]


class RowState(NamedTuple):
    """What a run saw of one label row: enough to tell later whether it changed (a tuple:
    an incremental run compares 10,000s of them, and tuples compare in C)."""

    label_hash: str | None
    edited_at: datetime | None
    version: int | None


_SET_COLUMNS = list(analysis_sets.c)
_RUN_COLUMNS = [c for c in analysis_runs.c if c.name != "results"]


def _set(m: RowMapping) -> SetRecord:
    return SetRecord(**{c.name: m[c.name] for c in _SET_COLUMNS})


def _run(m: RowMapping) -> RunRecord:
    values = {c.name: m[c.name] for c in _RUN_COLUMNS}
    for key in ("params", "timings", "progress"):
        values[key] = load_json(values[key])
    return RunRecord(**values)


def find_set(conn: Connection, project_id: int, branch_name: str, against: str) -> SetRecord | None:
    row = (
        conn.execute(
            select(*_SET_COLUMNS).where(
                analysis_sets.c.project_id == project_id,
                analysis_sets.c.branch_name == branch_name,
                analysis_sets.c.against == against,
            )
        )
        .mappings()
        .first()
    )
    return None if row is None else _set(row)


def get_or_create_set(
    conn: Connection, project_id: int, branch_name: str, against: str
) -> SetRecord:
    found = find_set(conn, project_id, branch_name, against)
    if found is not None:
        return found
    now = utcnow()
    conn.execute(
        analysis_sets.insert().values(
            project_id=project_id,
            branch_name=branch_name,
            against=against,
            review_status=REVIEW_STATUSES[0],
            notes="",
            created_at=now,
            updated_at=now,
        )
    )
    created = find_set(conn, project_id, branch_name, against)
    assert created is not None
    return created


def list_sets(conn: Connection, project_id: int) -> list[SetRecord]:
    query = (
        select(*_SET_COLUMNS)
        .where(analysis_sets.c.project_id == project_id)
        .order_by(analysis_sets.c.branch_name, analysis_sets.c.against)
    )
    return [_set(m) for m in conn.execute(query).mappings()]


def update_review(conn: Connection, set_id: int, status: str | None, notes: str | None) -> None:
    values: dict[str, Any] = {"updated_at": utcnow()}
    if status is not None:
        values["review_status"] = status
    if notes is not None:
        values["notes"] = notes
    conn.execute(update(analysis_sets).where(analysis_sets.c.id == set_id).values(**values))


def publish(
    conn: Connection,
    set_id: int,
    run_id: int,
    blocks: Mapping[int, bytes | memoryview],
    *,
    replace_all: bool,
) -> None:
    """Make ``run_id`` the set's current results (call in the transaction that wrote them),
    with its match records as numbered blocks: all of them (``replace_all``: blocks beyond them
    go), or the blocks that changed (the others stay).

    Each block is rewritten in place (``_util.rewritten``): a full run whose records did not
    change then writes next to nothing of them.
    """
    conn.execute(
        update(analysis_sets)
        .where(analysis_sets.c.id == set_id)
        .values(latest_run_id=run_id, updated_at=utcnow())
    )
    c = analysis_state_blocks.c
    for part, data in blocks.items():
        value = rewritten(c.state, literal(data, LargeBinary), conn.dialect.name)
        where = (c.set_id == set_id) & (c.part == part)
        if not conn.execute(
            update(analysis_state_blocks).where(where).values(state=value)
        ).rowcount:
            conn.execute(
                analysis_state_blocks.insert().values(set_id=set_id, part=part, state=data)
            )
    if replace_all:
        conn.execute(
            delete(analysis_state_blocks).where(c.set_id == set_id, c.part.not_in(sorted(blocks)))
        )


def load_state(conn: Connection, set_id: int) -> list[bytes] | None:
    """The set's match-record blocks in order (None: the set has none)."""
    c = analysis_state_blocks.c
    rows = conn.execute(select(c.state).where(c.set_id == set_id).order_by(c.part)).all()
    return [bytes(r[0]) for r in rows] if rows else None


def create_run(
    conn: Connection,
    set_id: int,
    params: Mapping[str, Any],
    engine_version: str,
    pid: int,
    host: str,
) -> RunRecord:
    now = utcnow()
    key = conn.execute(
        analysis_runs.insert().values(
            set_id=set_id,
            status="running",
            params=dump_json(dict(params)),
            engine_version=engine_version,
            pid=pid,
            host=host,
            started_at=now,
            heartbeat_at=now,
            timings="{}",
            progress="{}",
        )
    ).inserted_primary_key
    run = get_run(conn, int(key[0]) if key else 0)
    assert run is not None
    return run


def update_run(conn: Connection, run_id: int, **values: Any) -> None:
    """Set columns of a run; dict values of the JSON columns are encoded here."""
    for key in ("params", "timings", "progress", "results"):
        if key in values and not isinstance(values[key], str):
            values[key] = dump_json(values[key])
    values.setdefault("heartbeat_at", utcnow())
    conn.execute(update(analysis_runs).where(analysis_runs.c.id == run_id).values(**values))


def get_run(conn: Connection, run_id: int) -> RunRecord | None:
    row = conn.execute(select(*_RUN_COLUMNS).where(analysis_runs.c.id == run_id)).mappings().first()
    return None if row is None else _run(row)


@dataclass(frozen=True, slots=True)
class Curve:
    """One results ``pr_curves`` entry as stored (m0013): its JSON and that JSON's digest."""

    digest: str
    data: bytes

    @classmethod
    def of(cls, entry: Mapping[str, Any]) -> Curve:
        data = orjson.dumps(entry)
        return cls(hashlib.sha256(data).hexdigest()[:32], data)


def keep_curves(conn: Connection, set_id: int, curves: Sequence[Curve]) -> None:
    """Store those of ``curves`` the set does not hold yet: a run's ``results.pr_curves`` then
    lists their digests, and a class whose curve did not change adds nothing."""
    c = analysis_curves.c
    wanted = {curve.digest: curve for curve in curves}
    held: set[str] = set()
    for chunk in chunks(sorted(wanted)):
        held.update(
            conn.execute(select(c.digest).where(c.set_id == set_id, c.digest.in_(chunk))).scalars()
        )
    rows = [
        {"set_id": set_id, "digest": d, "data": curve.data}
        for d, curve in wanted.items()
        if d not in held
    ]
    if rows:
        conn.execute(analysis_curves.insert(), rows)


def run_results(conn: Connection, run_id: int, *, curves: bool = True) -> dict[str, Any]:
    """A run's results document, its ``pr_curves`` digests replaced by the entries they name
    (``curves=False``: left as stored, for a reader that does not look at them). Results stored
    before m0013 hold the entries inline and come back as they are."""
    r = analysis_runs.c
    row = conn.execute(select(r.results, r.set_id).where(r.id == run_id)).first()
    results = load_json(row[0] if row is not None else None)
    listed = results.get("pr_curves") if curves else None
    if row is None or not listed or not any(isinstance(entry, str) for entry in listed):
        return results
    c = analysis_curves.c
    digests = sorted({entry for entry in listed if isinstance(entry, str)})
    found: dict[str, bytes] = {}
    for chunk in chunks(digests):
        query = select(c.digest, c.data).where(c.set_id == row[1], c.digest.in_(chunk))
        found.update((str(digest), bytes(data)) for digest, data in conn.execute(query))
    results["pr_curves"] = [orjson.loads(found[e]) if isinstance(e, str) else e for e in listed]
    return results


def list_runs(
    conn: Connection, set_id: int, *, status: str | None = None, limit: int | None = None
) -> list[RunRecord]:
    """Newest first (``limit=1``: the newest alone; a set keeps every run it ever had)."""
    query = select(*_RUN_COLUMNS).where(analysis_runs.c.set_id == set_id)
    if status is not None:
        query = query.where(analysis_runs.c.status == status)
    query = query.order_by(analysis_runs.c.id.desc()).limit(limit)
    return [_run(m) for m in conn.execute(query).mappings()]


def load_row_states(conn: Connection, set_id: int) -> dict[tuple[int, int], RowState]:
    """(side, data unit id) -> the state the set's current results were computed from."""
    c = analysis_rows.c
    query = select(c.side, c.data_unit_id, c.label_hash, c.edited_at, c.version).where(
        c.set_id == set_id
    )
    return {
        (int(side), int(unit)): RowState(label_hash, edited_at, version)
        for side, unit, label_hash, edited_at, version in conn.execute(query)
    }


def replace_row_states(
    conn: Connection,
    set_id: int,
    states: Mapping[tuple[int, int], RowState],
    unit_ids: Iterable[int] | None = None,
) -> None:
    """Replace the saved states of ``unit_ids`` (all units when None) with ``states``'.

    Replacing all of them touches only the rows that differ from the stored ones: a full run
    over unchanged rows then writes none of its 10,000 (at 5,000 images) instead of deleting
    and inserting each.
    """
    c = analysis_rows.c
    if unit_ids is None:
        before = load_row_states(conn, set_id)
        stale = sorted(k for k, v in before.items() if states.get(k) != v)
        for side in sorted({side for side, _ in stale}):
            units = [unit for s, unit in stale if s == side]
            for part in chunks(units):
                conn.execute(
                    delete(analysis_rows).where(
                        c.set_id == set_id, c.side == side, c.data_unit_id.in_(part)
                    )
                )
        keys = [k for k, v in states.items() if before.get(k) != v]
    else:
        wanted = set(unit_ids)
        for part in chunks(sorted(wanted)):
            conn.execute(delete(analysis_rows).where(c.set_id == set_id, c.data_unit_id.in_(part)))
        keys = [k for k in states if k[1] in wanted]
    if keys:
        conn.execute(
            analysis_rows.insert(),
            [
                {
                    "set_id": set_id,
                    "side": side,
                    "data_unit_id": unit,
                    "label_hash": states[(side, unit)].label_hash,
                    "edited_at": states[(side, unit)].edited_at,
                    "version": states[(side, unit)].version,
                }
                for side, unit in keys
            ],
        )
