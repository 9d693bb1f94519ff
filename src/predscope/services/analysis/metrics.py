"""Reading stored analyses: the metrics document, the prediction sets, review status and notes.

``get_metrics`` returns the latest COMPLETE run of a set (a running or failed newer run is
reported beside it under ``latest_attempt``, never instead of it), with provenance (engine
version, which figures are COCO's definition) and freshness: whether either branch changed since
the run, by the same row fingerprint the run stored (``fingerprints``, cached per process).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection

from predscope.exceptions import InvalidArgumentsError, ResourceNotFoundError
from predscope.services.analysis.evaluate import _project
from predscope.services.analysis.fingerprints import branch_fingerprint
from predscope.services.analysis.runs import run_state
from predscope.store import analysis as repo
from predscope.store.analysis import REVIEW_STATUSES, RunRecord, SetRecord
from predscope.store.branches import MAIN_BRANCH, validate_branch_name
from predscope.store.engine import Store
from predscope.store.records import ProjectRecord

HEADLINE = ("AP", "AP50", "AP75", "AR100")


def _run_info(run: RunRecord) -> dict[str, Any]:
    return {
        "id": run.id,
        "status": run_state(run),
        "error": run.error,
        "mode": run.mode,
        "changed_units": run.changed_units,
        "started_at": run.started_at.isoformat(),
        "finished_at": run.finished_at.isoformat() if run.finished_at else None,
        "timings": run.timings,
        "progress": run.progress,
        "params": {k: v for k, v in run.params.items() if k not in ("basis", "categories")},
        "engine_version": run.engine_version,
    }


def warm_fingerprints(store: Store) -> int:
    """Compute the fingerprint of every branch an analysed set reads, so the first page a server
    shows after it starts does not pay for them (seconds at 100,000 images); returns how many.
    A server runs this in the background at start-up."""
    from predscope.store.projects import list_projects

    done = 0
    with store.read() as conn:
        for project in list_projects(conn):
            branches = {
                b for s in repo.list_sets(conn, project.id) for b in (s.against, s.branch_name)
            }
            for branch in sorted(branches):
                branch_fingerprint(conn, project.id, branch)
                done += 1
    return done


def freshness(
    conn: Connection,
    project: ProjectRecord,
    pset: SetRecord,
    run: RunRecord,
    seen: dict[str, str] | None = None,
) -> dict[str, bool]:
    """Whether the branches still hold what ``run`` analysed (``seen`` keeps each branch's
    digest across the sets of one listing: every set shares the ground truth)."""
    seen = {} if seen is None else seen
    for branch in (pset.against, pset.branch_name):
        if branch not in seen:
            seen[branch] = branch_fingerprint(conn, project.id, branch)
    gt_now, pred_now = seen[pset.against], seen[pset.branch_name]
    gt_changed = gt_now != run.gt_fingerprint
    pred_changed = pred_now != run.pred_fingerprint
    return {
        "fresh": not (gt_changed or pred_changed),
        "ground_truth_changed": gt_changed,
        "predictions_changed": pred_changed,
    }


def _require_set(
    conn: Connection, project: ProjectRecord, branch_name: str, against: str
) -> SetRecord:
    validate_branch_name(branch_name)
    pset = repo.find_set(conn, project.id, branch_name, against)
    if pset is None and branch_name == against:
        analysed = sorted({s.branch_name for s in repo.list_sets(conn, project.id)})
        raise InvalidArgumentsError(
            f"project {project.title!r}: branch {branch_name!r} is the ground truth, not a "
            "prediction set - pick a prediction branch"
            + (f" (analysed: {', '.join(analysed)})" if analysed else "")
        )
    if pset is None or pset.latest_run_id is None:
        raise ResourceNotFoundError(
            f"project {project.title!r}: branch {branch_name!r} has no complete analysis against "
            f"{against!r} - run: predscope analyse {project.title!r} --branch {branch_name}"
        )
    return pset


def complete_set(
    conn: Connection, project: ProjectRecord, branch_name: str, against: str = MAIN_BRANCH
) -> tuple[SetRecord, RunRecord]:
    """The set and its latest complete run (``ResourceNotFoundError`` when never analysed)."""
    pset = _require_set(conn, project, branch_name, against)
    run = repo.get_run(conn, int(pset.latest_run_id or 0))
    assert run is not None
    return pset, run


def evaluated_classes(
    store: Store, project: ProjectRecord | str, branch_name: str, *, against: str = MAIN_BRANCH
) -> list[str]:
    """Names of the classes the set's latest complete run evaluated (what queries accept)."""
    record = _project(store, project)
    with store.read() as conn:
        _, run = complete_set(conn, record, branch_name, against)
    return [str(c[1]) for c in run.params.get("categories", [])]


def get_metrics(
    store: Store,
    project: ProjectRecord | str,
    branch_name: str,
    *,
    against: str = MAIN_BRANCH,
) -> dict[str, Any]:
    """The stored metrics document of the set's latest complete run."""
    record = _project(store, project)
    with store.read() as conn:
        pset, run = complete_set(conn, record, branch_name, against)
        results = repo.run_results(conn, run.id)
        newest = repo.list_runs(conn, pset.id, limit=1)[0]
        fresh = freshness(conn, record, pset, run)
    provenance = dict(results.pop("provenance", {}))
    provenance["engine_version"] = run.engine_version
    doc = {
        "project": record.project_hash,
        "branch": branch_name,
        "against": against,
        "run": _run_info(run),
        **results,
        "provenance": provenance,
        "freshness": fresh,
        "review": {"status": pset.review_status, "notes": pset.notes},
    }
    if newest.id != run.id:
        doc["latest_attempt"] = _run_info(newest)
    return doc


def list_prediction_sets(store: Store, project: ProjectRecord | str) -> list[dict[str, Any]]:
    """Every analysed (branch, ground truth) pair with headline metrics, freshness, review."""
    record = _project(store, project)
    out: list[dict[str, Any]] = []
    seen: dict[str, str] = {}
    with store.read() as conn:
        for pset in repo.list_sets(conn, record.id):
            runs = repo.list_runs(conn, pset.id, limit=1)
            entry: dict[str, Any] = {
                "branch": pset.branch_name,
                "against": pset.against,
                "review_status": pset.review_status,
                "notes": pset.notes,
                "last_run": _run_info(runs[0]) if runs else None,
                "run_id": pset.latest_run_id,
                "analysed_at": None,
                "metrics": None,
                "freshness": None,
            }
            if pset.latest_run_id is not None:
                run = repo.get_run(conn, pset.latest_run_id)
                assert run is not None
                results = repo.run_results(conn, run.id)
                stats = results.get("stats", {})
                entry["analysed_at"] = run.finished_at.isoformat() if run.finished_at else None
                entry["metrics"] = {k: stats.get(k) for k in HEADLINE} | {
                    "predictions": results.get("predictions"),
                    "ground_truth": results.get("ground_truth"),
                }
                entry["freshness"] = freshness(conn, record, pset, run, seen)
            out.append(entry)
    return out


def normalise_status(status: str) -> str:
    value = status.strip().lower().replace("-", "_").replace(" ", "_")
    if value not in REVIEW_STATUSES:
        raise InvalidArgumentsError(
            f"review status {status!r} is not one of {', '.join(REVIEW_STATUSES)} - pick one "
            "(hyphens or spaces are fine: 'in review')"
        )
    return value


def set_review(
    store: Store,
    project: ProjectRecord | str,
    branch_name: str,
    *,
    against: str = MAIN_BRANCH,
    status: str | None = None,
    notes: str | None = None,
) -> dict[str, Any]:
    """Set a prediction set's review status and/or notes; returns the new values."""
    record = _project(store, project)
    value = None if status is None else normalise_status(status)
    with store.begin() as conn:
        validate_branch_name(branch_name)
        pset = repo.find_set(conn, record.id, branch_name, against)
        if pset is None:
            raise ResourceNotFoundError(
                f"project {record.title!r}: branch {branch_name!r} was never analysed against "
                f"{against!r} - analyse it first: predscope analyse {record.title!r} --branch "
                f"{branch_name}"
            )
        repo.update_review(conn, pset.id, value, notes)
        updated = repo.find_set(conn, record.id, branch_name, against)
    assert updated is not None
    return {
        "branch": branch_name,
        "against": against,
        "review_status": updated.review_status,
        "notes": updated.notes,
    }
