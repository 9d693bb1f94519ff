"""Imports over HTTP: the request body is the file; the import runs as a background job.

COCO and Encord label rows are JSON bodies; YOLO (``.txt`` files, ``classes.txt``) and Pascal VOC
(``.xml``) come as one zip archive. The body is streamed into a fresh temporary folder the server
made (see ``server/uploads.py``); the job imports it in one transaction and the folder is removed
afterwards. A client that disconnects mid-upload leaves nothing: no job exists until the whole body
has arrived. Only JSON and zip bodies are accepted, which a cross-site web page cannot send without
the browser asking first.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from predscope.exceptions import InvalidArgumentsError, PredscopeError
from predscope.server.api.deps import JobsDep, StoreDep, project_of
from predscope.server.jobs import job_dict
from predscope.server.uploads import receive_to, remove, safe_file_name, scrub, unpack_zip
from predscope.services.imports.options import ImportOptions
from predscope.services.progress import Progress
from predscope.services.summaries import import_dict
from predscope.store.engine import Store
from predscope.store.imports import find_imports
from predscope.store.records import ProjectRecord

router = APIRouter(tags=["imports"])

_BODY_TYPES = {
    "coco": ("application/json", "application/octet-stream"),
    "encord": ("application/json", "application/octet-stream"),
    "yolo": ("application/zip", "application/x-zip-compressed", "application/octet-stream"),
    "voc": ("application/zip", "application/x-zip-compressed", "application/octet-stream"),
}
UNPACK_FACTOR = 4  # a zip may unpack to this many times the body limit


class ImportFormat(StrEnum):
    coco = "coco"
    encord = "encord"
    yolo = "yolo"
    voc = "voc"


class OnUnknown(StrEnum):
    error = "error"
    skip = "skip"


class ClassMode(StrEnum):
    by_index = "index"
    by_name = "name"


class ScoreColumn(StrEnum):
    auto = "auto"
    none = "none"
    last = "last"
    second = "second"


@router.get("/projects/{project}/imports", summary="Import provenance, oldest first")
def imports_list(store: StoreDep, project: str) -> dict[str, Any]:
    record = project_of(store, project)
    with store.read() as conn:
        items = [import_dict(r) for r in find_imports(conn, record.id)]
    return {"items": items, "total": len(items)}


def _import(
    store: Store,
    project: ProjectRecord,
    path: Path,
    fmt: ImportFormat,
    job: _Job,
    progress: Progress,
) -> Any:
    if fmt is ImportFormat.coco:
        from predscope.services.imports.coco import import_coco

        return import_coco(
            store, project, path, job.options, score_field=job.score_field, progress=progress
        )
    if fmt is ImportFormat.encord:
        from predscope.services.imports.encord import import_encord

        return import_encord(store, project, [path], job.options, progress=progress)
    from predscope.services.imports.text import import_voc, import_yolo

    root = unpack_zip(path, path.parent / "unpacked", job.max_unpacked)
    if fmt is ImportFormat.yolo:
        return import_yolo(
            store,
            project,
            root,
            job.options,
            class_mode=job.class_mode.value,
            score_column=job.score_column.value,
        )
    return import_voc(store, project, root, job.options)


@dataclass(frozen=True, slots=True)
class _Job:
    """What an upload's job needs besides the file (format-specific keywords included)."""

    options: ImportOptions
    score_field: str
    class_mode: ClassMode
    score_column: ScoreColumn
    max_unpacked: int


def _work(store: Store, project: ProjectRecord, path: Path, fmt: ImportFormat, job: _Job) -> Any:
    def run(progress: Progress) -> dict[str, Any]:
        try:
            report = _import(store, project, path, fmt, job, progress)
        except PredscopeError as exc:
            exc.args = (scrub(str(exc), path.parent),)
            raise
        result: dict[str, Any] = scrub(report.to_dict(), path.parent)  # type: ignore[assignment]
        return result

    return run


@router.post(
    "/projects/{project}/imports",
    status_code=202,
    summary="Upload a COCO / Encord JSON file or a YOLO / VOC zip; it imports as a background job",
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
        Query(description="Target branch (required for predictions; Encord: overrides rows')."),
    ] = None,
    ground_truth: Annotated[bool, Query(description="The file is ground truth.")] = False,
    dry_run: Annotated[bool, Query(description="Match and report; write nothing.")] = False,
    replace: Annotated[bool, Query(description="Swap the branch's labels for the file's.")] = False,
    append: Annotated[bool, Query(description="Add the file's labels to the branch's.")] = False,
    on_unknown_category: OnUnknown = OnUnknown.error,
    on_unknown_image: OnUnknown = OnUnknown.error,
    score_field: Annotated[str, Query(max_length=100, description="COCO score field.")] = "score",
    class_mode: Annotated[ClassMode, Query(description="YOLO: class ids or names.")] = (
        ClassMode.by_index
    ),
    score_column: Annotated[ScoreColumn, Query(description="YOLO: the score column.")] = (
        ScoreColumn.auto
    ),
    filename: Annotated[str | None, Query(max_length=500, description="Name for reports.")] = None,
) -> JSONResponse:
    record = await run_in_threadpool(project_of, store, project)
    content_type = (request.headers.get("content-type") or "").split(";")[0].strip().lower()
    if content_type not in _BODY_TYPES[format.value]:
        raise InvalidArgumentsError(
            f"upload: Content-Type {content_type or 'missing'!r} - send the {format.value} "
            f"file as the request body with Content-Type: {_BODY_TYPES[format.value][0]}"
        )
    options = ImportOptions(
        branch=branch,
        ground_truth=ground_truth,
        dry_run=dry_run,
        replace=replace,
        append=append,
        on_unknown_category=on_unknown_category.value,
        on_unknown_image=on_unknown_image.value,
        branch_in_rows=format is ImportFormat.encord,
        caller="http",
    )
    suffix = ".json" if format in (ImportFormat.coco, ImportFormat.encord) else ".zip"
    folder = Path(tempfile.mkdtemp(prefix="predscope-upload-"))
    path = folder / safe_file_name(filename, f"upload-{format.value}{suffix}")
    try:
        size = await receive_to(request, path)
    except BaseException:  # disconnect, size limit, cancellation: leave nothing behind
        remove(folder)
        raise
    if size == 0:
        remove(folder)
        raise InvalidArgumentsError("upload: the request body is empty - send the file as the body")
    limit = UNPACK_FACTOR * request.app.state.settings.max_body_bytes
    work = _work(
        store, record, path, format, _Job(options, score_field, class_mode, score_column, limit)
    )
    params = {
        "format": format.value,
        "file": path.name,
        "bytes": size,
        "branch": options.branch,
        "mode": options.mode,
        "ground_truth": ground_truth,
        "dry_run": dry_run,
    }
    job = await run_in_threadpool(
        jobs.submit, record, "import", params, work, lambda: remove(folder)
    )
    return JSONResponse(
        jsonable_encoder(job_dict(job)),
        status_code=202,
        headers={"Location": f"/api/jobs/{job.job_id}"},
    )
