"""Compare two analysed prediction sets on the same ground truth: deltas, a bootstrap interval,
and the ground-truth objects whose outcome changed.

Nothing is re-matched: both sets' stored match records are re-aggregated by the engine
(``records.aggregate``), and the bootstrap over images (``evaluation.bootstrap``) resamples
those match states, which equals evaluating each resampled data set from scratch. The two runs
must have seen the same ground truth (same frames and the same row fingerprint), else the
comparison is refused: re-analyse the stale one.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from predscope.evaluation.bootstrap import bootstrap_map_difference
from predscope.evaluation.inputs import CocoDetections, CocoGroundTruth
from predscope.exceptions import InvalidArgumentsError
from predscope.services.analysis.evaluate import _project
from predscope.services.analysis.kinds import layout_params, summary_kind
from predscope.services.analysis.metrics import complete_set
from predscope.services.analysis.records import Records, aggregate
from predscope.services.query import threshold_index
from predscope.store import analysis as repo
from predscope.store.analysis_units import changed_ground_truth
from predscope.store.branches import MAIN_BRANCH
from predscope.store.engine import Store
from predscope.store.records import ProjectRecord

HEADLINE = ("AP", "AP50", "AP75", "AR100")
CHANGED_LIMIT = 100


def _light_inputs(
    records: Records, num_images: int, num_k: int
) -> tuple[CocoGroundTruth, CocoDetections]:
    """Inputs carrying only what resampling reads (image and class per row)."""
    ng, nd = records.g_cat.size, records.d_cat.size
    gt = CocoGroundTruth(
        num_images=num_images,
        category_ids=tuple(range(num_k)),
        image=records.g_image.astype(np.int64),
        category=records.g_cat.astype(np.int64),
        bbox=np.zeros((ng, 4)),
        area=np.zeros(ng),
        iscrowd=records.g_crowd,
    )
    dt = CocoDetections(
        image=records.d_image.astype(np.int64),
        category=records.d_cat.astype(np.int64),
        bbox=np.zeros((nd, 4)),
        area=np.zeros(nd),
        score=records.d_score,
    )
    return gt, dt


def compare_prediction_sets(
    store: Store,
    project: ProjectRecord | str,
    branch_a: str,
    branch_b: str,
    *,
    against: str = MAIN_BRANCH,
    iou_threshold: float = 0.5,
    n_resamples: int = 1000,
    confidence: float = 0.95,
    seed: int = 0,
    offset: int = 0,
    limit: int = CHANGED_LIMIT,
    interval: bool = True,
    changed: bool = True,
) -> dict[str, Any]:
    """Deltas A - B of the summary and per class, the bootstrap CI of the mAP difference, and
    GT objects found by one set and missed by the other at ``iou_threshold`` (both counts, and
    ``limit`` examples of each from ``offset``, in data-unit order).

    The deltas come from the stored results alone and cost little; ``interval=False`` leaves out
    the bootstrap (``"bootstrap": None``, no per-class ``low``/``high``), which is most of the cost
    on a large project, and ``changed=False`` the changed objects (``"changed": None``), so a page
    can show the deltas at once and fetch the interval afterwards."""
    if offset < 0 or not 1 <= limit <= 1000:
        raise InvalidArgumentsError(
            f"compare: offset={offset}, limit={limit} - the changed objects page needs "
            "offset >= 0 and 1 <= limit <= 1000"
        )
    record = _project(store, project)
    if branch_a == branch_b:
        raise InvalidArgumentsError(f"compare: both branches are {branch_a!r} - name two sets")
    t = threshold_index(iou_threshold)
    with store.read() as conn:
        (set_a, run_a), (set_b, run_b) = (
            complete_set(conn, record, b, against) for b in (branch_a, branch_b)
        )
        if (
            run_a.params.get("basis") != run_b.params.get("basis")
            or run_a.gt_fingerprint != run_b.gt_fingerprint
        ):
            raise InvalidArgumentsError(
                f"compare: {branch_a!r} (run {run_a.id}) and {branch_b!r} (run {run_b.id}) were "
                "analysed against different ground truth or parameters - re-analyse both "
                "(predscope analyse ... --branch NAME) and compare again"
            )
        res_a, res_b = repo.run_results(conn, run_a.id), repo.run_results(conn, run_b.id)
        blobs = [repo.load_state(conn, s.id) for s in (set_a, set_b)] if interval else []
        found = _changed_objects(conn, set_a.id, set_b.id, t, offset, limit) if changed else None
    cats = run_a.params.get("categories", [])
    kinds = [c[2] if len(c) > 2 else run_a.params.get("iou_type", "bbox") for c in cats]
    params = layout_params(kinds or ["bbox"])
    kind = res_a.get("iou_type", summary_kind(kinds or ["bbox"]))
    ids, names = tuple(c[0] for c in cats), tuple(c[1] for c in cats)
    boot = None
    lows = highs = None
    if interval:
        records = [Records.from_blocks(b or []) for b in blobs]
        evals = [aggregate(r, params, ids, names).ev for r in records]
        num_images = int(res_a["images"])
        inputs = [_light_inputs(r, num_images, len(cats)) for r in records]
        boot = bootstrap_map_difference(
            inputs[0][0],
            inputs[0][1],
            inputs[1][1],
            params,
            eval_a=evals[0],
            eval_b=evals[1],
            n_resamples=n_resamples,
            confidence=confidence,
            seed=seed,
        )
        lows, highs = boot.class_low, boot.class_high
    per_class = []
    for k, (ca, cb) in enumerate(zip(res_a["classes"], res_b["classes"], strict=True)):
        row: dict[str, Any] = {"name": ca["name"], "category_id": ca["category_id"]}
        for key in (*HEADLINE[:3], f"AR{params.max_dets[-1]}"):  # AR20 for skeletons alone
            va, vb = ca[key], cb[key]
            row[key] = {"a": va, "b": vb, "delta": None if va < 0 or vb < 0 else va - vb}
        if lows is not None and highs is not None and k < lows.size:  # same resamples as mAP
            row["AP"]["low"], row["AP"]["high"] = _finite(lows[k]), _finite(highs[k])
        per_class.append(row)
    return {
        "project": record.project_hash,
        "a": {"branch": branch_a, "run_id": run_a.id},
        "b": {"branch": branch_b, "run_id": run_b.id},
        "against": against,
        "iou_type": kind,
        "stats": {
            k: {
                "a": res_a["stats"][k],
                "b": res_b["stats"][k],
                "delta": res_a["stats"][k] - res_b["stats"][k],
            }
            for k in res_a["stats"]
        },
        "per_class": per_class,
        "bootstrap": None
        if boot is None
        else {
            "stat": boot.stat,
            "estimate": boot.estimate,
            "low": boot.low,
            "high": boot.high,
            "confidence": boot.confidence,
            "n_resamples": boot.n_resamples,
            "seed": boot.seed,
            "unit": "images",
        },
        "changed": None
        if found is None
        else {
            "iou_threshold": round(0.5 + 0.05 * t, 2),
            "offset": offset,
            "limit": limit,
            **_named(found, names),
        },
    }


def _finite(value: float) -> float | None:
    return None if value != value else float(value)


def _named(changed: dict[str, Any], names: tuple[str, ...]) -> dict[str, Any]:
    for key in ("examples_a_not_b", "examples_b_not_a"):
        for item in changed[key]:
            item["class"] = names[item.pop("class_id")]
    return changed


def _changed_objects(
    conn: Any, set_a: int, set_b: int, t: int, offset: int, limit: int
) -> dict[str, Any]:
    """GT objects found (TP) by one set and missed (FN) by the other (``store``'s join)."""
    found = changed_ground_truth(conn, set_a, set_b, t, offset, limit)
    return {
        "found_by_a_missed_by_b": found["a_not_b"][0],
        "found_by_b_missed_by_a": found["b_not_a"][0],
        "examples_a_not_b": found["a_not_b"][1],
        "examples_b_not_a": found["b_not_a"][1],
    }
