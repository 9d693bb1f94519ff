"""Stored analysis over HTTP: start a run (a background job), metrics (with PR curves and the
confusion matrix), prediction sets with review status, and the object and data-unit queries.

Thin routes: every answer is the document ``services.analysis`` and ``services.query`` return to
the SDK and the CLI, so ``GET .../metrics`` equals ``Project.get_metrics`` and the query pages equal
``Project.query_objects(...).to_dict()``.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from predscope.exceptions import InvalidArgumentsError
from predscope.server.api.deps import JobsDep, StoreDep, project_of
from predscope.server.jobs import JobRunner, job_dict
from predscope.services.analysis.metrics import get_metrics, list_prediction_sets, set_review
from predscope.services.progress import Progress
from predscope.services.query import query_data_units, query_objects
from predscope.store.branches import MAIN_BRANCH, validate_branch_name
from predscope.store.engine import Store
from predscope.store.jobs import JobRecord
from predscope.store.records import ProjectRecord

router = APIRouter(tags=["analysis"])

Against = Annotated[str, Query(description="Ground-truth branch the set is measured against.")]
Many = Annotated[list[str] | None, Query()]
Number = float | None


class Review(BaseModel):
    status: str | None = Field(None, description="needs_review, in_review or reviewed")
    notes: str | None = Field(None, max_length=20_000)


def _properties(values: list[str] | None) -> dict[str, tuple[Number, Number]] | None:
    """``property=area_px:100:`` (name:min:max, either bound empty) into the service's ranges."""
    if not values:
        return None
    out: dict[str, tuple[Number, Number]] = {}
    for text in values:
        parts = text.split(":")
        try:
            name, low, high = parts
            out[name] = (float(low) if low else None, float(high) if high else None)
        except ValueError:
            raise InvalidArgumentsError(
                f"query parameter 'property': {text!r} is not name:min:max (e.g. area_px:100:)"
            ) from None
    return out


def _attributes(values: list[str] | None) -> dict[str, list[str]] | None:
    """``attribute=colour:red`` (repeatable) into ``{attribute: [values]}``."""
    if not values:
        return None
    out: dict[str, list[str]] = {}
    for text in values:
        name, sep, value = text.partition(":")
        if not sep or not name:
            raise InvalidArgumentsError(
                f"query parameter 'attribute': {text!r} is not name:value (e.g. colour:red)"
            )
        out.setdefault(name, []).append(value)
    return out


@router.get("/projects/{project}/prediction-sets", summary="Analysed branches, with freshness")
def sets_list(store: StoreDep, project: str) -> dict[str, Any]:
    items = list_prediction_sets(store, project_of(store, project))
    return {"items": items, "total": len(items)}


@router.put(
    "/projects/{project}/prediction-sets/{branch}/review",
    summary="Set a prediction set's review status and/or notes",
)
def set_review_put(
    store: StoreDep, project: str, branch: str, review: Review, against: Against = MAIN_BRANCH
) -> dict[str, Any]:
    record = project_of(store, project)
    return set_review(
        store, record, branch, against=against, status=review.status, notes=review.notes
    )


@router.post(
    "/projects/{project}/branches/{branch}/analyses",
    status_code=202,
    summary="Analyse a prediction branch against ground truth, as a background job",
)
def analysis_start(
    store: StoreDep,
    jobs: JobsDep,
    project: str,
    branch: str,
    against: Against = MAIN_BRANCH,
    full: Annotated[bool, Query(description="Re-match every row, not only changed ones.")] = False,
    iou_type: Annotated[
        str, Query(description="auto (each class by its shape), bbox or segm")
    ] = "auto",
) -> JSONResponse:
    job = submit_analysis(store, jobs, project_of(store, project), branch, against, full, iou_type)
    return JSONResponse(
        jsonable_encoder(job_dict(job)),
        status_code=202,
        headers={"Location": f"/api/jobs/{job.job_id}"},
    )


def submit_analysis(
    store: Store,
    jobs: JobRunner,
    record: ProjectRecord,
    branch: str,
    against: str = MAIN_BRANCH,
    full: bool = False,
    iou_type: str = "auto",
) -> JobRecord:
    """Queue ``services.analysis.runs.analyse`` as a background job (the API and the pages)."""
    from predscope.services.analysis.runs import analyse

    validate_branch_name(branch)
    validate_branch_name(against)

    def work(progress: Progress) -> dict[str, Any]:
        outcome = analyse(
            store, record, branch, against=against, full=full, iou_type=iou_type, progress=progress
        )
        return {
            "run_id": outcome.run.id,
            "mode": outcome.mode,
            "changed_units": outcome.changed_units,
            "total_units": outcome.total_units,
            "metrics_url": f"/api/projects/{record.project_hash}/branches/{branch}/metrics",
        }

    params = {"branch_name": branch, "against": against, "full": full, "iou_type": iou_type}
    return jobs.submit(record, "analysis", params, work)


@router.get(
    "/projects/{project}/compare",
    summary="Two analysed prediction sets: deltas A - B, bootstrap CI, changed objects (paged)",
)
def compare_get(
    store: StoreDep,
    project: str,
    a: Annotated[str, Query(description="Prediction branch A.")],
    b: Annotated[str, Query(description="Prediction branch B.")],
    against: Against = MAIN_BRANCH,
    iou_threshold: Annotated[float, Query(ge=0.5, le=0.95)] = 0.5,
    resamples: Annotated[int, Query(ge=10, le=10_000, description="Bootstrap resamples.")] = 1000,
    seed: Annotated[int, Query(ge=0)] = 0,
    offset: Annotated[int, Query(ge=0, description="First changed object of the page.")] = 0,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> dict[str, Any]:
    from predscope.services.analysis.compare import compare_prediction_sets

    for value in (a, b, against):
        validate_branch_name(value)
    return compare_prediction_sets(
        store,
        project_of(store, project),
        a,
        b,
        against=against,
        iou_threshold=iou_threshold,
        n_resamples=resamples,
        seed=seed,
        offset=offset,
        limit=limit,
    )


@router.get(
    "/projects/{project}/branches/{branch}/metrics",
    summary="The latest complete analysis: summary, per class, PR curves, confusion, errors",
)
def metrics_get(
    store: StoreDep, project: str, branch: str, against: Against = MAIN_BRANCH
) -> dict[str, Any]:
    return get_metrics(store, project_of(store, project), branch, against=against)


@router.get(
    "/projects/{project}/branches/{branch}/objects",
    summary="Stored objects of the latest analysis, filtered, sorted and paged",
)
def objects_query(
    store: StoreDep,
    project: str,
    branch: str,
    kind: Annotated[str, Query(description="prediction or ground_truth")] = "prediction",
    outcome: Many = None,
    iou_threshold: Annotated[float, Query(ge=0.5, le=0.95)] = 0.5,
    object_name: Many = None,
    error_type: Many = None,
    min_confidence: Number = None,
    max_confidence: Number = None,
    min_iou: Number = None,
    max_iou: Number = None,
    property: Annotated[list[str] | None, Query(description="name:min:max")] = None,
    attribute: Annotated[list[str] | None, Query(description="name:value")] = None,
    data_hash: str | None = None,
    order_by: str = "-confidence",
    offset: Annotated[int, Query(ge=0)] = 0,
    limit: Annotated[int, Query(ge=1, le=1000)] = 50,
    against: Against = MAIN_BRANCH,
) -> dict[str, Any]:
    page = query_objects(
        store,
        project_of(store, project),
        branch,
        kind=kind,
        outcome=outcome,
        iou_threshold=iou_threshold,
        object_names=object_name,
        error_type=error_type,
        min_confidence=min_confidence,
        max_confidence=max_confidence,
        min_iou=min_iou,
        max_iou=max_iou,
        properties=_properties(property),
        attributes=_attributes(attribute),
        data_hash=data_hash,
        order_by=order_by,
        offset=offset,
        limit=limit,
        against=against,
    )
    return page.to_dict()


@router.get(
    "/projects/{project}/branches/{branch}/units",
    summary="Per data unit and frame: TP / FP / FN of the latest analysis, filtered and sorted",
)
def units_query(
    store: StoreDep,
    project: str,
    branch: str,
    iou_threshold: Annotated[float, Query(ge=0.5, le=0.95)] = 0.5,
    object_name: Many = None,
    min_tp: int | None = None,
    max_tp: int | None = None,
    min_fp: int | None = None,
    max_fp: int | None = None,
    min_fn: int | None = None,
    max_fn: int | None = None,
    data_hash: str | None = None,
    order_by: str = "-fp",
    offset: Annotated[int, Query(ge=0)] = 0,
    limit: Annotated[int, Query(ge=1, le=1000)] = 50,
    against: Against = MAIN_BRANCH,
) -> dict[str, Any]:
    page = query_data_units(
        store,
        project_of(store, project),
        branch,
        iou_threshold=iou_threshold,
        object_names=object_name,
        min_tp=min_tp,
        max_tp=max_tp,
        min_fp=min_fp,
        max_fp=max_fp,
        min_fn=min_fn,
        max_fn=max_fn,
        data_hash=data_hash,
        order_by=order_by,
        offset=offset,
        limit=limit,
        against=against,
    )
    return page.to_dict()
