"""Imports over HTTP: the request body is the file; the import runs as a background job.

The body is streamed into a fresh temporary folder the server made, under a name reduced to safe
characters (the client's name only labels the import); the job imports that file in one
transaction and the folder is removed afterwards. A client that disconnects mid-upload leaves
nothing: no job is created until the whole body has arrived. Only JSON bodies are accepted, which
a cross-site web page cannot send without the browser asking first.
"""

from __future__ import annotations

import re
import shutil
import tempfile
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from predscope.exceptions import InvalidArgumentsError, PredscopeError
from predscope.server.api.deps import JobsDep, StoreDep, project_of
from predscope.server.jobs import job_dict
from predscope.services.imports.options import ImportOptions
from predscope.services.progress import Progress
from predscope.services.summaries import import_dict
from predscope.store.imports import find_imports
from predscope.store.records import ProjectRecord

router = APIRouter(tags=["imports"])

_SAFE_NAME = re.compile(r"[^A-Za-z0-9._-]+")
_JSON_TYPES = ("application/json", "application/octet-stream")


class ImportFormat(StrEnum):
    coco = "coco"
    encord = "encord"


class OnUnknown(StrEnum):
    error = "error"
    skip = "skip"


def safe_file_name(name: str | None, fallback: str = "upload.json") -> str:
    """``../../etc/passwd`` -> ``passwd``: the last part, safe characters only, never hidden."""
    base = (name or "").replace("\\", "/").rsplit("/", 1)[-1]
    cleaned = _SAFE_NAME.sub("_", base).lstrip(".")[:120]
    return cleaned or fallback


@router.get("/projects/{project}/imports", summary="Import provenance, oldest first")
def imports_list(store: StoreDep, project: str) -> dict[str, Any]:
    record = project_of(store, project)
    with store.read() as conn:
        items = [import_dict(r) for r in find_imports(conn, record.id)]
    return {"items": items, "total": len(items)}


async def _receive_to(request: Request, path: Path) -> int:
    size = 0
    with path.open("wb") as out:
        async for chunk in request.stream():
            out.write(chunk)
            size += len(chunk)
    return size


def _readable(text: str, folder: Path) -> str:
    """Messages and reports name the upload, not the server's temporary folder."""
    return text.replace(f"{folder}/", "")


def _scrub(value: Any, folder: Path) -> Any:
    if isinstance(value, str):
        return _readable(value, folder)
    if isinstance(value, list):
        return [_scrub(v, folder) for v in value]
    if isinstance(value, dict):
        return {k: _scrub(v, folder) for k, v in value.items()}
    return value


def _work(
    store: Any,
    project: ProjectRecord,
    path: Path,
    fmt: ImportFormat,
    options: ImportOptions,
    score_field: str,
) -> Any:
    def run(progress: Progress) -> dict[str, Any]:
        try:
            if fmt is ImportFormat.coco:
                from predscope.services.imports.coco import import_coco

                report: Any = import_coco(
                    store, project, path, options, score_field=score_field, progress=progress
                )
            else:
                from predscope.services.imports.encord import import_encord

                report = import_encord(store, project, [path], options, progress=progress)
        except PredscopeError as exc:
            exc.args = (_readable(str(exc), path.parent),)
            raise
        result: dict[str, Any] = _scrub(report.to_dict(), path.parent)
        return result

    return run


@router.post(
    "/projects/{project}/imports",
    status_code=202,
    summary="Upload a COCO or Encord label-row JSON file; the import runs as a background job",
    response_description="The job; follow it at its url until status is succeeded or failed.",
)
async def import_upload(
    request: Request,
    store: StoreDep,
    jobs: JobsDep,
    project: str,
    format: Annotated[ImportFormat, Query(description="File format.")],
    branch: Annotated[
        str | None,
        Query(description="Target branch (COCO: required for predictions; Encord: overrides "),
    ] = None,
    ground_truth: Annotated[bool, Query(description="COCO: the file is ground truth.")] = False,
    dry_run: Annotated[bool, Query(description="Match and report; write nothing.")] = False,
    replace: Annotated[bool, Query(description="Swap the branch's labels for the file's.")] = False,
    append: Annotated[
        bool, Query(description="Add the file's labels to those already on the branch.")
    ] = False,
    on_unknown_category: OnUnknown = OnUnknown.error,
    on_unknown_image: OnUnknown = OnUnknown.error,
    score_field: Annotated[str, Query(max_length=100)] = "score",
    filename: Annotated[str | None, Query(max_length=500, description="Name for reports.")] = None,
) -> JSONResponse:
    record = await run_in_threadpool(project_of, store, project)
    content_type = (request.headers.get("content-type") or "").split(";")[0].strip().lower()
    if content_type not in _JSON_TYPES:
        raise InvalidArgumentsError(
            f"upload: Content-Type {content_type or 'missing'!r} - send the file as the request "
            "body with Content-Type: application/json"
        )
    coco = format is ImportFormat.coco
    options = ImportOptions(  # the one place the branch and re-import rules live
        branch=branch,
        ground_truth=ground_truth and coco,
        dry_run=dry_run,
        replace=replace,
        append=append,
        on_unknown_category=on_unknown_category.value,
        on_unknown_image=on_unknown_image.value,
        branch_in_rows=not coco,
        caller="http",
    )
    folder = Path(tempfile.mkdtemp(prefix="predscope-upload-"))
    path = folder / safe_file_name(filename, f"upload-{format.value}.json")
    try:
        size = await _receive_to(request, path)
    except BaseException:  # disconnect, size limit, cancellation: leave nothing behind
        shutil.rmtree(folder, ignore_errors=True)
        raise
    if size == 0:
        shutil.rmtree(folder, ignore_errors=True)
        raise InvalidArgumentsError("upload: the request body is empty - send the file as the body")
    shown: dict[str, Any]
    if coco:
        shown = {
            "branch_name": options.branch,
            "ground_truth": ground_truth,
            "dry_run": dry_run,
            "replace": replace,
            "append": append,
            "on_unknown_category": on_unknown_category.value,
            "on_unknown_image": on_unknown_image.value,
            "score_field": score_field,
        }
    else:
        shown = {"branch_name": branch, "dry_run": dry_run, "replace": replace, "append": append}
    params = {"format": format.value, "file": path.name, "bytes": size, **shown}
    job = await run_in_threadpool(
        jobs.submit,
        record,
        "import",
        params,
        _work(store, record, path, format, options, score_field),
        lambda: shutil.rmtree(folder, ignore_errors=True),
    )
    return JSONResponse(
        jsonable(job_dict(job)), status_code=202, headers={"Location": f"/api/jobs/{job.job_id}"}
    )


def jsonable(value: Any) -> Any:
    from fastapi.encoders import jsonable_encoder

    return jsonable_encoder(value)
