"""Per-detection and per-GT outcomes, and the single-threshold (FiftyOne-style) view.

COCOeval only has match matrices per (threshold, area range). We define a detection's outcome
at one threshold as its status in area range "all" with the last maxDets: TP (matched a regular
GT), FP, or IGNORED (matched a crowd GT). A GT is missed (FN) if no detection matched it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from predscope.evaluation.inputs import BoolArray, CocoDetections, CocoGroundTruth, FloatArray
from predscope.evaluation.matching import MatchState, match
from predscope.evaluation.params import CocoParams
from predscope.evaluation.results import DetectionOutcomes, Outcome


def build_outcomes(
    state: MatchState, params: CocoParams, num_gt: int, num_dt: int
) -> DetectionOutcomes:
    """Outcomes view of a match state (arrays are scattered to input order lazily)."""
    return DetectionOutcomes(iou_thrs=params.iou_thrs, state=state, num_gt=num_gt, num_dt=num_dt)


@dataclass(frozen=True, eq=False)
class ThresholdOutcomes:
    """Outcome of every detection and GT at one IoU threshold (input order)."""

    iou_thr: float
    outcome: NDArray[np.int8]  # Outcome codes per detection
    matched_gt: NDArray[np.int32]
    iou: FloatArray
    gt_outcome: NDArray[np.int8]  # per GT: TP (matched), FP never, IGNORED (crowd), or -1 = FN
    gt_matched_by: NDArray[np.int32]

    @property
    def gt_missed(self) -> BoolArray:
        result: BoolArray = self.gt_outcome < 0
        return result


def single_threshold_outcomes(
    gt: CocoGroundTruth,
    dt: CocoDetections,
    iou_thr: float = 0.5,
    *,
    params: CocoParams | None = None,
    pycocotools_compat: bool = False,
) -> ThresholdOutcomes:
    """Match at one user-chosen IoU threshold, area "all", the last maxDets, classwise."""
    base = params or CocoParams()
    single = CocoParams(
        iou_type=base.iou_type,
        iou_thrs=np.array([iou_thr], dtype=np.float64),
        rec_thrs=base.rec_thrs,
        max_dets=(base.max_dets[-1],),
        area_rng=((0.0, 1e10),),
        area_labels=("all",),
        use_cats=base.use_cats,
        kpt_oks_sigmas=base.kpt_oks_sigmas,
    )
    state = match(gt, dt, single, compat=pycocotools_compat)
    full = build_outcomes(state, single, gt.num_annotations, dt.num_detections)
    gt_outcome = np.where(full.gt_matched_by[0] >= 0, Outcome.TP, -1).astype(np.int8)
    gt_outcome[full.gt_ignored] = Outcome.IGNORED
    return ThresholdOutcomes(
        iou_thr=float(iou_thr),
        outcome=full.outcome[0],
        matched_gt=full.matched_gt[0],
        iou=full.iou[0],
        gt_outcome=gt_outcome,
        gt_matched_by=full.gt_matched_by[0],
    )
