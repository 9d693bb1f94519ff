"""Job records for background work (the server runs them; anyone can read them)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from predscope.exceptions import ResourceNotFoundError
from predscope.store import jobs as job_repo
from predscope.store.engine import Store
from predscope.store.jobs import JobRecord
from predscope.store.records import ProjectRecord


def create_job(
    store: Store, project: ProjectRecord | None, kind: str, params: Mapping[str, Any]
) -> JobRecord:
    with store.begin() as conn:
        return job_repo.create_job(conn, project.id if project else None, kind, params)


def get_job(store: Store, job_id: str) -> JobRecord:
    with store.read() as conn:
        record = job_repo.get_job(conn, job_id)
    if record is None:
        raise ResourceNotFoundError(
            f"job {job_id!r}: no such job - job ids come from the response that started the job"
        )
    return record


def list_jobs(store: Store, project: ProjectRecord | None = None) -> list[JobRecord]:
    with store.read() as conn:
        return job_repo.list_jobs(conn, project.id if project else None)


def mark_started(store: Store, job_id: str) -> None:
    with store.begin() as conn:
        job_repo.mark_started(conn, job_id)


def mark_finished(
    store: Store,
    job_id: str,
    *,
    stage: str,
    done: int,
    total: int | None,
    result: Mapping[str, Any] | None = None,
    error: Mapping[str, Any] | None = None,
) -> None:
    with store.begin() as conn:
        job_repo.mark_finished(
            conn, job_id, stage=stage, done=done, total=total, result=result, error=error
        )


def fail_abandoned(store: Store) -> int:
    """At server start: jobs a stopped server left unfinished can never finish; say so."""
    error = {
        "code": "job_abandoned",
        "message": "the server stopped before this job finished; nothing of it was written "
        "(every import is one transaction) - start it again",
    }
    with store.begin() as conn:
        return job_repo.fail_unfinished(conn, error)
