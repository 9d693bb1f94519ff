"""Frozen result objects of a COCO evaluation.

Arrays keep pycocotools' layouts (``precision [T,R,K,A,M]``, ``recall [T,K,A,M]``) and its -1
"no ground truth" sentinel, so code written against ``COCOeval.eval`` ports by renaming.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum
from functools import cached_property

import numpy as np
from numpy.typing import NDArray

from predscope.evaluation.calibration import CalibrationResult, from_sums, score_bins
from predscope.evaluation.inputs import BoolArray, FloatArray
from predscope.evaluation.matching import MatchState
from predscope.evaluation.params import CocoParams


class Outcome(IntEnum):
    """Outcome of one detection at one IoU threshold (codes stored in ``DetectionOutcomes``)."""

    FP = 0
    TP = 1
    IGNORED = 2  # matched a crowd / out-of-range GT, or unmatched outside the area range
    NOT_EVALUATED = 3  # beyond maxDets in its (image, category), or category not in the GT


@dataclass(frozen=True)
class ClassMetrics:
    """One row of the per-class table (area "all", the last maxDets); -1 = no GT of the class."""

    category_id: object
    name: str
    ap: float
    ap50: float
    ap75: float
    ar: float
    num_gt: int
    num_detections: int


@dataclass(frozen=True, eq=False)
class DetectionOutcomes:
    """Every detection and GT at every IoU threshold, area range "all" (the first range).

    Rows are in input order; arrays are built on first access from the sorted match state.
    ``matched_gt`` / ``gt_matched_by`` hold input rows, -1 if none; ``iou`` is NaN where there
    is no match.
    """

    iou_thrs: FloatArray
    state: MatchState
    num_gt: int
    num_dt: int

    @cached_property
    def outcome(self) -> NDArray[np.int8]:
        """[T, Nd] ``Outcome`` codes."""
        out = np.full((self.iou_thrs.size, self.num_dt), int(Outcome.NOT_EVALUATED), np.int8)
        out[:, self.state.d_index] = self.state.codes[0]
        return out

    @cached_property
    def matched_gt(self) -> NDArray[np.int32]:
        """[T, Nd] GT row each detection matched (crowd included), -1 if none."""
        st = self.state
        out = np.full((self.iou_thrs.size, self.num_dt), -1, dtype=np.int32)
        if st.g_index.size:  # without ground truth nothing matched
            out[:, st.d_index] = np.where(
                st.match_gt >= 0, st.g_index[np.maximum(st.match_gt, 0)], -1
            )
        return out

    @cached_property
    def iou(self) -> FloatArray:
        """[T, Nd] IoU with the matched GT, NaN if unmatched."""
        out = np.full((self.iou_thrs.size, self.num_dt), np.nan, dtype=np.float64)
        out[:, self.state.d_index] = self.state.match_iou
        return out

    @cached_property
    def gt_matched_by(self) -> NDArray[np.int32]:
        """[T, Ngt] detection row that matched each GT, -1 if none (last one for crowd GT)."""
        st = self.state
        out = np.full((self.iou_thrs.size, self.num_gt), -1, dtype=np.int32)
        if st.d_index.size:  # without detections nothing matched (and there is nothing to index)
            out[:, st.g_index] = np.where(
                st.gt_match >= 0, st.d_index[np.maximum(st.gt_match, 0)], -1
            )
        return out

    @cached_property
    def gt_ignored(self) -> BoolArray:
        """[Ngt] crowd GT (or outside the first area range)."""
        out = np.zeros(self.num_gt, dtype=np.bool_)
        if self.state.g_ignored.shape[0]:
            out[self.state.g_index] = self.state.g_ignored[0]
        return out

    @cached_property
    def gt_missed(self) -> BoolArray:
        """[T, Ngt] non-ignored GT left unmatched (false negatives)."""
        result: BoolArray = (self.gt_matched_by < 0) & ~self.gt_ignored[None, :]
        return result

    def threshold_index(self, iou_thr: float) -> int:
        """Index of ``iou_thr`` in ``iou_thrs`` (nearest within 1e-9)."""
        diffs = np.abs(self.iou_thrs - iou_thr)
        t = int(np.argmin(diffs))
        if diffs[t] > 1e-9:
            from predscope.exceptions import EvaluationError

            raise EvaluationError(
                f"IoU threshold {iou_thr} is not one of the evaluated thresholds "
                f"{self.iou_thrs.tolist()} - use single_threshold_outcomes() for other values"
            )
        return t

    def counts(self, iou_thr: float = 0.5) -> dict[str, int]:
        """TP / FP / FN / ignored totals at one evaluated threshold."""
        t = self.threshold_index(iou_thr)
        row = self.outcome[t]
        return {
            "tp": int(np.count_nonzero(row == Outcome.TP)),
            "fp": int(np.count_nonzero(row == Outcome.FP)),
            "fn": int(np.count_nonzero(self.gt_missed[t])),
            "ignored": int(np.count_nonzero(row == Outcome.IGNORED)),
        }


@dataclass(frozen=True, eq=False)
class CocoEvaluation:
    """Everything one ``evaluate_coco`` call produced."""

    params: CocoParams
    stats: dict[str, float]
    precision: FloatArray
    recall: FloatArray
    scores: FloatArray
    category_ids: tuple[object, ...]
    category_names: tuple[str, ...]
    per_class: tuple[ClassMetrics, ...]
    outcomes: DetectionOutcomes
    pycocotools_compat: bool
    match_state: MatchState

    @property
    def stats_list(self) -> list[float]:
        """The stats in pycocotools' order (``COCOeval.stats``)."""
        return list(self.stats.values())

    def calibration(self, iou_thr: float = 0.5, n_bins: int = 10) -> CalibrationResult | None:
        """Reliability of the scores at one IoU threshold (TP = correct), from this same pass.

        Only evaluated, non-ignored detections count (area "all", the last maxDets). Returns None
        when a score lies outside [0, 1]: such scores are not probabilities, so no calibration.
        """
        t = self.outcomes.threshold_index(iou_thr)
        state = self.match_state
        cells = calibration_cells(
            state.d_cat, state.d_score, state.codes[0, t], state.num_eval_cats, n_bins
        )
        return calibration_of(cells)


@dataclass(frozen=True, eq=False)
class CalibrationCells:
    """Per (class, bin): the TP and FP detections' count, score sum and TP count.

    The table sums these over classes, so a caller that recomputes some classes and keeps the
    others' cells (an incremental analysis) gets the same table, bit for bit, as one pass over
    everything: each cell adds its class's scores in match-state order either way.
    """

    count: NDArray[np.int64]  # [K, B]
    conf: FloatArray  # [K, B]
    correct: NDArray[np.int64]  # [K, B]
    out_of_range: BoolArray  # [K] a counted score outside [0, 1]


def calibration_cells(
    d_cat: NDArray[np.integer],
    scores: FloatArray,
    codes: NDArray[np.int8],
    num_k: int,
    n_bins: int = 10,
) -> CalibrationCells:
    """The cells of detections in match-state order (class ``d_cat``, outcome ``codes`` at one
    threshold, area "all"); classes without a detection here get empty cells."""
    keep = (codes == int(Outcome.TP)) | (codes == int(Outcome.FP))
    kept, cats = scores[keep], d_cat[keep].astype(np.int64)
    bad = ~((kept >= 0.0) & (kept <= 1.0))
    out_of_range = np.zeros(num_k, dtype=np.bool_)
    out_of_range[cats[bad]] = True
    key = cats * n_bins + score_bins(np.where(bad, 0.0, kept), n_bins)
    size = num_k * n_bins
    shape = (num_k, n_bins)
    ok = codes[keep] == int(Outcome.TP)
    return CalibrationCells(
        count=np.bincount(key, minlength=size).reshape(shape).astype(np.int64),
        conf=np.asarray(np.bincount(key, weights=kept, minlength=size), np.float64).reshape(shape),
        correct=np.bincount(key[ok], minlength=size).reshape(shape).astype(np.int64),
        out_of_range=out_of_range,
    )


def calibration_of(cells: CalibrationCells) -> CalibrationResult | None:
    """``CocoEvaluation.calibration`` from its cells: None when a score lies outside [0, 1]."""
    if cells.out_of_range.any():
        return None
    return from_sums(
        cells.count.sum(axis=0), cells.conf.sum(axis=0), cells.correct.sum(axis=0).astype(float)
    )
