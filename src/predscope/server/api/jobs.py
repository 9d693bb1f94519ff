"""Background jobs: status and live progress."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from predscope.server.api.deps import JobsDep, StoreDep, project_of
from predscope.server.jobs import job_dict
from predscope.services.jobs import list_jobs

router = APIRouter(tags=["jobs"])


@router.get("/jobs/{job_id}", summary="A job: status, stage, done of total, result or error")
def job_get(jobs: JobsDep, job_id: str) -> dict[str, Any]:
    return job_dict(jobs.get(job_id))


@router.get("/projects/{project}/jobs", summary="A project's jobs, newest first (100 at most)")
def jobs_list(store: StoreDep, project: str) -> dict[str, Any]:
    items = [job_dict(j) for j in list_jobs(store, project_of(store, project))]
    return {"items": items, "total": len(items)}
