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
from predscope.services.progress import Progress
from predscope.services.summaries import import_dict
from predscope.store.branches import MAIN_BRANCH, validate_branch_name
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
    options: dict[str, Any],
    progress: Progress,
    max_unpacked: int,
) -> Any:
    if fmt is ImportFormat.coco:
        from predscope.services.imports.coco import import_coco

        return import_coco(store, project, path, progress=progress, **options)
    if fmt is ImportFormat.encord:
        from predscope.services.imports.encord import import_encord

        return import_encord(store, project, [path], progress=progress, **options)
    from predscope.services.imports.text import import_voc, import_yolo

    root = unpack_zip(path, path.parent / "unpacked", max_unpacked)
    if fmt is ImportFormat.yolo:
        return import_yolo(store, project, root, **options)
    return import_voc(store, project, root, **options)


def _work(
    store: Store,
    project: ProjectRecord,
    path: Path,
    fmt: ImportFormat,
    options: dict[str, Any],
    max_unpacked: int,
) -> Any:
    def run(progress: Progress) -> dict[str, Any]:
        try:
            report = _import(store, project, path, fmt, options, progress, max_unpacked)
        except PredscopeError as exc:
            exc.args = (scrub(str(exc), path.parent),)
            raise
        result: dict[str, Any] = scrub(report.to_dict(), path.parent)  # type: ignore[assignment]
        return result

    return run


def _options(
    fmt: ImportFormat, branch: str | None, flags: dict[str, Any], yolo: dict[str, Any]
) -> dict[str, Any]:
    if fmt is ImportFormat.encord:
        return {"branch_name": branch, "dry_run": flags["dry_run"]}
    if branch is None and not flags["ground_truth"]:
        raise InvalidArgumentsError(
            f"query parameter 'branch': required for {fmt.value} predictions (e.g. "
            "branch=model-v2); pass ground_truth=true to import ground truth onto main"
        )
    options = {"branch_name": branch or MAIN_BRANCH, **flags}
    if fmt is ImportFormat.coco:
        return options
    options.pop("score_field")
    if fmt is ImportFormat.yolo:
        options.update(yolo)
    return options


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
    replace: Annotated[bool, Query(description="Replace this file's import.")] = False,
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
    if branch is not None:
        validate_branch_name(branch)
    flags = {
        "ground_truth": ground_truth,
        "dry_run": dry_run,
        "replace": replace,
        "on_unknown_category": on_unknown_category.value,
        "on_unknown_image": on_unknown_image.value,
        "score_field": score_field,
    }
    yolo = {"class_mode": class_mode.value, "score_column": score_column.value}
    options = _options(format, branch, flags, yolo)
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
    settings = request.app.state.settings
    work = _work(store, record, path, format, options, UNPACK_FACTOR * settings.max_body_bytes)
    params = {"format": format.value, "file": path.name, "bytes": size, **options}
    job = await run_in_threadpool(
        jobs.submit, record, "import", params, work, lambda: remove(folder)
    )
    return JSONResponse(
        jsonable_encoder(job_dict(job)),
        status_code=202,
        headers={"Location": f"/api/jobs/{job.job_id}"},
    )
