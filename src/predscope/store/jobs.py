"""Background jobs of the server (imports, later analyses): status, progress, result or error.

A job row is written when the job is queued, started and finished; live progress between those
points is kept by the process running it (see ``server/jobs.py``) so that reporting progress never
queues on SQLite's write lock behind the very import it reports on.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, RowMapping, select, update

from predscope.store._util import dump_json, load_json, new_hash
from predscope.store.schema import jobs, projects
from predscope.store.types import utcnow

QUEUED, RUNNING, SUCCEEDED, FAILED = "queued", "running", "succeeded", "failed"
UNFINISHED = (QUEUED, RUNNING)


@dataclass(frozen=True, slots=True)
class JobRecord:
    job_id: str
    project_hash: str | None
    kind: str
    status: str
    stage: str
    done: int
    total: int | None
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    params: dict[str, Any] = field(default_factory=dict)
    result: dict[str, Any] | None = None
    error: dict[str, Any] | None = None


def _query() -> Any:
    return select(jobs, projects.c.project_hash).select_from(
        jobs.outerjoin(projects, jobs.c.project_id == projects.c.id)
    )


def _record(m: Mapping[str, Any] | RowMapping) -> JobRecord:
    return JobRecord(
        job_id=m["job_id"],
        project_hash=m["project_hash"],
        kind=m["kind"],
        status=m["status"],
        stage=m["stage"],
        done=m["done"],
        total=m["total"],
        created_at=m["created_at"],
        started_at=m["started_at"],
        finished_at=m["finished_at"],
        params=load_json(m["params"]),
        result=load_json(m["result"]) if m["result"] is not None else None,
        error=load_json(m["error"]) if m["error"] is not None else None,
    )


def create_job(
    conn: Connection, project_id: int | None, kind: str, params: Mapping[str, Any]
) -> JobRecord:
    values: dict[str, Any] = {
        "job_id": new_hash(),
        "project_id": project_id,
        "kind": kind,
        "status": QUEUED,
        "stage": "queued",
        "done": 0,
        "total": None,
        "params": dump_json(dict(params)),
        "result": None,
        "error": None,
        "created_at": utcnow(),
        "started_at": None,
        "finished_at": None,
    }
    conn.execute(jobs.insert().values(**values))
    record = get_job(conn, values["job_id"])  # read back: dates as every later read has them
    if record is None:
        raise RuntimeError("a job inserted in this transaction cannot be read back")
    return record


def get_job(conn: Connection, job_id: str) -> JobRecord | None:
    m = conn.execute(_query().where(jobs.c.job_id == job_id)).mappings().first()
    return _record(m) if m is not None else None


def list_jobs(conn: Connection, project_id: int | None = None, limit: int = 100) -> list[JobRecord]:
    query = _query()
    if project_id is not None:
        query = query.where(jobs.c.project_id == project_id)
    rows = conn.execute(query.order_by(jobs.c.id.desc()).limit(limit)).mappings()
    return [_record(m) for m in rows]


def mark_started(conn: Connection, job_id: str) -> None:
    conn.execute(
        update(jobs)
        .where(jobs.c.job_id == job_id)
        .values(status=RUNNING, stage="starting", started_at=utcnow())
    )


def mark_finished(
    conn: Connection,
    job_id: str,
    *,
    stage: str,
    done: int,
    total: int | None,
    result: Mapping[str, Any] | None = None,
    error: Mapping[str, Any] | None = None,
) -> None:
    conn.execute(
        update(jobs)
        .where(jobs.c.job_id == job_id)
        .values(
            status=FAILED if error is not None else SUCCEEDED,
            stage=stage,
            done=done,
            total=total,
            result=dump_json(dict(result)) if result is not None else None,
            error=dump_json(dict(error)) if error is not None else None,
            finished_at=utcnow(),
        )
    )


def fail_unfinished(conn: Connection, error: Mapping[str, Any]) -> int:
    """Jobs left queued or running by a server that stopped: failed, with ``error``."""
    result = conn.execute(
        update(jobs)
        .where(jobs.c.status.in_(UNFINISHED))
        .values(status=FAILED, error=dump_json(dict(error)), finished_at=utcnow())
    )
    return int(result.rowcount or 0)
