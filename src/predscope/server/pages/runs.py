"""Analysis runs from the browser: a form POST starts one (the API's own background job), the
run page follows its progress and goes to the summary when it completes, or shows the failure."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from predscope.exceptions import InvalidArgumentsError, ResourceNotFoundError
from predscope.server.api.analysis import submit_analysis
from predscope.server.api.deps import JobsDep, StoreDep, project_of
from predscope.server.jobs import JobRunner
from predscope.server.pages.common import chrome, html, project_path, url
from predscope.store.branches import MAIN_BRANCH
from predscope.store.jobs import FAILED, SUCCEEDED, JobRecord
from predscope.store.records import ProjectRecord
from predscope.ui.render import render_run
from predscope.ui.views import RunView

router = APIRouter(include_in_schema=False)
STATES = {SUCCEEDED: "done", FAILED: "failed"}


@router.post("/p/{project}/analyse")
async def analyse_form(request: Request, store: StoreDep, jobs: JobsDep, project: str) -> Any:
    """Form fields ``set`` (the branch), ``against`` and ``full``; answers 303 to the run page."""
    record = project_of(store, project)
    fields = parse_qs((await request.body()).decode("utf-8", "replace"))
    branch = (fields.get("set") or [""])[0]
    if not branch:
        raise InvalidArgumentsError(
            "analyse: the form needs 'set', the prediction branch to analyse"
        )
    against = (fields.get("against") or [MAIN_BRANCH])[0]
    full = (fields.get("full") or [""])[0] in ("1", "true", "on")
    job = submit_analysis(store, jobs, record, branch, against, full)
    return RedirectResponse(project_path(record, "runs", job.job_id), status_code=303)


def _job(jobs: JobRunner, record: ProjectRecord, job_id: str) -> JobRecord:
    job = jobs.get(job_id)
    if job.kind != "analysis" or job.project_hash != record.project_hash:
        raise ResourceNotFoundError(f"project {record.title!r} has no analysis run {job_id!r}")
    return job


def run_status(record: ProjectRecord, job: JobRecord) -> dict[str, Any]:
    """What the run page polls for (``ui.views.RunView`` documents the shape)."""
    state = STATES.get(job.status, job.status)
    branch = str(job.params.get("branch_name", ""))
    against = str(job.params.get("against", MAIN_BRANCH))
    params = {"set": branch, "against": against if against != MAIN_BRANCH else None}
    error = job.error or {}
    return {
        "state": state,
        "done": job.done,
        "total": job.total or 0,
        "stage": job.stage,
        "message": f"{error.get('code', 'error')}: {error.get('message', '')}" if error else "",
        "result_href": url(project_path(record, "summary"), params) if state == "done" else None,
    }


@router.get("/p/{project}/runs/{job_id}/status")
def status(store: StoreDep, jobs: JobsDep, project: str, job_id: str) -> dict[str, Any]:
    record = project_of(store, project)
    return run_status(record, _job(jobs, record, job_id))


@router.get("/p/{project}/runs/{job_id}", response_class=HTMLResponse)
def run_page(
    request: Request, store: StoreDep, jobs: JobsDep, project: str, job_id: str
) -> HTMLResponse:
    record = project_of(store, project)
    job = _job(jobs, record, job_id)
    s = run_status(record, job)
    view = RunView(
        chrome(request, record, "Analysis run", "project", None),
        f"Analysing {job.params.get('branch_name', '')} "
        f"against {job.params.get('against', MAIN_BRANCH)}",
        project_path(record, "runs", job_id, "status"),
        s["state"],
        s["done"],
        s["total"],
        s["stage"],
        s["message"],
        s["result_href"],
        project_path(record, "analyse") if s["state"] == "failed" else None,
        (
            ("set", str(job.params.get("branch_name", ""))),
            ("against", str(job.params.get("against", MAIN_BRANCH))),
        ),
    )
    return html(render_run(view))
