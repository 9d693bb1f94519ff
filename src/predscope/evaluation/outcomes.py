"""Per-detection and per-GT outcomes, and the single-threshold (FiftyOne-style) view.

COCOeval only has match matrices per (threshold, area range). We define a detection's outcome
at one threshold as its status in area range "all" with the last maxDets: TP (matched a regular
GT), FP, or IGNORED (matched a crowd GT). A GT is missed (FN) if no detection matched it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from predscope.evaluation._kernels import scatter_rows
from predscope.evaluation.inputs import BoolArray, CocoDetections, CocoGroundTruth, FloatArray
from predscope.evaluation.matching import MatchState, match
from predscope.evaluation.params import CocoParams, single_threshold_params
from predscope.evaluation.results import DetectionOutcomes, Outcome


def build_outcomes(
    state: MatchState, params: CocoParams, num_gt: int, num_dt: int
) -> DetectionOutcomes:
    """Outcomes view of a match state (arrays are scattered to input order lazily)."""
    return DetectionOutcomes(iou_thrs=params.iou_thrs, state=state, num_gt=num_gt, num_dt=num_dt)


@dataclass(frozen=True, eq=False)
class RowMatches:
    """A match state in input row order, row-major: what a caller storing per-object records
    needs, in one compiled pass (``DetectionOutcomes`` builds [T, N] arrays one at a time).

    ``codes`` [Nd, A, T] (NOT_EVALUATED where ``rank`` is -1); ``d_match`` / ``g_match``
    [N, T] partner input rows (-1 none) at area range "all", ``d_iou`` / ``g_iou`` its IoU
    (NaN none); ``g_ignored`` [Ng, A].
    """

    rank: NDArray[np.int32]
    codes: NDArray[np.int8]
    d_match: NDArray[np.int32]
    d_iou: FloatArray
    g_match: NDArray[np.int32]
    g_iou: FloatArray
    g_ignored: BoolArray


def row_matches(state: MatchState, num_gt: int, num_dt: int) -> RowMatches:
    """``state`` scattered to input rows (see ``RowMatches``)."""
    num_a, num_t = state.codes.shape[0], state.codes.shape[1]
    out = RowMatches(
        rank=np.full(num_dt, -1, dtype=np.int32),
        codes=np.full((num_dt, num_a, num_t), int(Outcome.NOT_EVALUATED), dtype=np.int8),
        d_match=np.full((num_dt, num_t), -1, dtype=np.int32),
        d_iou=np.full((num_dt, num_t), np.nan),
        g_match=np.full((num_gt, num_t), -1, dtype=np.int32),
        g_iou=np.full((num_gt, num_t), np.nan),
        g_ignored=np.zeros((num_gt, num_a), dtype=np.bool_),
    )
    out.g_ignored[state.g_index] = state.g_ignored.T
    scatter_rows(
        np.ascontiguousarray(state.d_index, dtype=np.int64),
        np.ascontiguousarray(state.g_index, dtype=np.int64),
        np.ascontiguousarray(state.d_rank, dtype=np.int64),
        np.ascontiguousarray(state.codes),
        np.ascontiguousarray(state.match_gt),
        np.ascontiguousarray(state.match_iou),
        np.ascontiguousarray(state.gt_match),
        out.rank,
        out.codes,
        out.d_match,
        out.d_iou,
        out.g_match,
        out.g_iou,
    )
    return out


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
    single = single_threshold_params(params, iou_thr)
    state = match(gt, dt, single, compat=pycocotools_compat)
    return threshold_outcomes(state, single, gt.num_annotations, dt.num_detections)


def threshold_outcomes(
    state: MatchState, params: CocoParams, num_gt: int, num_dt: int
) -> ThresholdOutcomes:
    """The ``ThresholdOutcomes`` of a one-threshold match state."""
    full = build_outcomes(state, params, num_gt, num_dt)
    gt_outcome = np.where(full.gt_matched_by[0] >= 0, Outcome.TP, -1).astype(np.int8)
    gt_outcome[full.gt_ignored] = Outcome.IGNORED
    return ThresholdOutcomes(
        iou_thr=float(params.iou_thrs[0]),
        outcome=full.outcome[0],
        matched_gt=full.matched_gt[0],
        iou=full.iou[0],
        gt_outcome=gt_outcome,
        gt_matched_by=full.gt_matched_by[0],
    )
