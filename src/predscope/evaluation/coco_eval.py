"""``evaluate_coco``: COCO detection, segmentation and keypoint metrics equal to pycocotools.

One deliberate difference: pycocotools records a match by the GT's annotation id and treats id 0
as "no match", so a detection matching a GT whose id is 0 counts as FP. We match by index and
count it; ``pycocotools_compat=True`` reproduces pycocotools.
"""

from __future__ import annotations

import numpy as np

from predscope.evaluation.accumulate import Accumulated, accumulate
from predscope.evaluation.inputs import BoolArray, CocoDetections, CocoGroundTruth
from predscope.evaluation.matching import MatchState, match
from predscope.evaluation.outcomes import build_outcomes
from predscope.evaluation.params import CocoParams, same_geometry
from predscope.evaluation.results import ClassMetrics, CocoEvaluation
from predscope.evaluation.summary import mean_valid, summarize


def evaluate_coco(
    gt: CocoGroundTruth,
    dt: CocoDetections,
    params: CocoParams | None = None,
    *,
    pycocotools_compat: bool = False,
    gt_in: BoolArray | None = None,
    dt_in: BoolArray | None = None,
) -> CocoEvaluation:
    """Run the full COCO sweep (all thresholds, area ranges and maxDets) in one pass.

    ``gt_in`` / ``dt_in`` evaluate an object slice (see ``evaluation.slices``): GT outside it
    are ignored, unmatched detections outside it too, exactly as COCO treats area ranges.
    """
    p = params or CocoParams()
    state = match(gt, dt, p, compat=pycocotools_compat, gt_in=gt_in, dt_in=dt_in)
    acc = accumulate(state, p)
    return _evaluation(gt, dt, p, state, acc, pycocotools_compat, gt_in, dt_in)


def _evaluation(
    gt: CocoGroundTruth,
    dt: CocoDetections,
    p: CocoParams,
    state: MatchState,
    acc: Accumulated,
    pycocotools_compat: bool = False,
    gt_in: BoolArray | None = None,
    dt_in: BoolArray | None = None,
) -> CocoEvaluation:
    stats = summarize(p, acc.precision, acc.recall)
    outcomes = build_outcomes(state, p, gt.num_annotations, dt.num_detections)
    return CocoEvaluation(
        params=p,
        stats=stats,
        precision=acc.precision,
        recall=acc.recall,
        scores=acc.scores,
        category_ids=gt.category_ids,
        category_names=gt.category_names or tuple(str(c) for c in gt.category_ids),
        per_class=_per_class(gt, dt, p, acc.precision, acc.recall, gt_in, dt_in)
        if p.use_cats
        else (),
        outcomes=outcomes,
        pycocotools_compat=pycocotools_compat,
        match_state=state,
    )


def at_threshold(
    ev: CocoEvaluation, gt: CocoGroundTruth, dt: CocoDetections, params: CocoParams
) -> CocoEvaluation | None:
    """``evaluate_coco(gt, dt, params)`` read off ``ev`` (the same inputs, unsliced) when
    ``params`` is one of its IoU thresholds in its first area range with its last maxDets.

    Matching runs per (threshold, area range) and accumulation per (threshold, category,
    area range, maxDets), so that slice of ``ev`` is, bit for bit, what a run with one
    threshold computes. None when ``params`` is not such a slice.
    """
    base = ev.params
    if (
        ev.pycocotools_compat
        or params.iou_thrs.size != 1
        or params.area_rng != base.area_rng[:1]
        or params.max_dets != base.max_dets[-1:]
        or params.use_cats != base.use_cats
        or not np.array_equal(params.rec_thrs, base.rec_thrs)
        or not same_geometry(params, base)
    ):
        return None
    hits = np.flatnonzero(base.iou_thrs == params.iou_thrs[0])
    if hits.size == 0:
        return None
    t = int(hits[0])
    st = ev.match_state
    state = st.sliced(
        codes=st.codes[:1, t : t + 1],
        match_gt=st.match_gt[t : t + 1],
        match_iou=st.match_iou[t : t + 1],
        gt_match=st.gt_match[t : t + 1],
        npig=st.npig[:, :1],
        g_ignored=st.g_ignored[:1],
    )
    m = len(base.max_dets) - 1
    acc = Accumulated(
        precision=ev.precision[t : t + 1, :, :, :1, m:],
        recall=ev.recall[t : t + 1, :, :1, m:],
        scores=ev.scores[t : t + 1, :, :, :1, m:],
    )
    return _evaluation(gt, dt, params, state, acc)


def _per_class(
    gt: CocoGroundTruth,
    dt: CocoDetections,
    p: CocoParams,
    precision: np.ndarray,
    recall: np.ndarray,
    gt_in: BoolArray | None = None,
    dt_in: BoolArray | None = None,
) -> tuple[ClassMetrics, ...]:
    """Per-category AP / AP50 / AP75 / AR at area "all" and the last maxDets."""
    alls = [i for i, lbl in enumerate(p.area_labels) if lbl == "all"]
    a = alls[0] if alls else 0
    m = len(p.max_dets) - 1
    t50 = np.where(p.iou_thrs == 0.5)[0]
    t75 = np.where(p.iou_thrs == 0.75)[0]
    num_k = len(gt.category_ids)
    gt_keep = ~gt.iscrowd if gt_in is None else ~gt.iscrowd & gt_in
    gt_counts = np.bincount(gt.category[gt_keep], minlength=num_k)
    dt_keep = dt.category >= 0 if dt_in is None else (dt.category >= 0) & dt_in
    kept = dt.category[dt_keep]
    dt_counts = np.bincount(kept, minlength=num_k)
    names = gt.category_names or tuple(str(c) for c in gt.category_ids)
    rows = []
    for k, cid in enumerate(gt.category_ids):
        rows.append(
            ClassMetrics(
                category_id=cid,
                name=names[k],
                ap=mean_valid(precision[:, :, k, a, m]),
                ap50=mean_valid(precision[t50, :, k, a, m]) if t50.size else -1.0,
                ap75=mean_valid(precision[t75, :, k, a, m]) if t75.size else -1.0,
                ar=mean_valid(recall[:, k, a, m]),
                num_gt=int(gt_counts[k]),
                num_detections=int(dt_counts[k]),
            )
        )
    return tuple(rows)
