"""Detection confusion matrix with a background row and column (class-agnostic matching).

Matching ignores classes (COCO's greedy rule with ``useCats=0``) at one IoU threshold, area
"all", the last maxDets, so a box of the wrong class lands in the (true class, predicted class)
cell instead of counting once as FP and once as FN. Rows are ground-truth classes, columns
predicted classes; the last row holds unmatched predictions, the last column missed GT.
Predictions matched to crowd GT are left out, as COCO ignores them.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from predscope.evaluation.inputs import CocoDetections, CocoGroundTruth
from predscope.evaluation.outcomes import single_threshold_outcomes
from predscope.evaluation.params import CocoParams
from predscope.evaluation.results import Outcome

BACKGROUND = "(none)"


@dataclass(frozen=True, eq=False)
class ConfusionMatrix:
    """``matrix[i, j]``: GT class i matched by a prediction of class j; index K = background."""

    category_ids: tuple[object, ...]
    labels: tuple[str, ...]  # category names, then BACKGROUND
    matrix: NDArray[np.int64]  # [K + 1, K + 1]; matrix[K, K] is always 0
    iou_thr: float
    min_score: float

    def cell(self, gt_label: str, pred_label: str) -> int:
        """Count for a (GT label, predicted label) pair, by name."""
        return int(self.matrix[self.labels.index(gt_label), self.labels.index(pred_label)])


def confusion_matrix(
    gt: CocoGroundTruth,
    dt: CocoDetections,
    iou_thr: float = 0.5,
    *,
    min_score: float = 0.0,
    params: CocoParams | None = None,
) -> ConfusionMatrix:
    """Class-agnostic greedy matching, then tabulate (GT class, predicted class) pairs."""
    keep = dt.score >= min_score
    sub = CocoDetections(
        image=dt.image[keep],
        category=dt.category[keep],
        bbox=dt.bbox[keep],
        area=dt.area[keep],
        score=dt.score[keep],
        masks=None if dt.masks is None else dt.masks.subset(keep),
        keypoints=None if dt.keypoints is None else dt.keypoints[keep],
    )
    base = params or CocoParams()
    agnostic = dataclasses.replace(base, use_cats=False)
    res = single_threshold_outcomes(gt, sub, iou_thr, params=agnostic)
    k = len(gt.category_ids)
    mat = np.zeros((k + 1, k + 1), dtype=np.int64)
    evaluated = (res.outcome != Outcome.NOT_EVALUATED) & (res.outcome != Outcome.IGNORED)
    matched = evaluated & (res.matched_gt >= 0)
    unmatched = evaluated & (res.matched_gt < 0)
    np.add.at(mat, (gt.category[res.matched_gt[matched]], sub.category[matched]), 1)
    pred_cat = sub.category[unmatched]
    np.add.at(mat, (np.full_like(pred_cat, k), pred_cat), 1)
    missed = res.gt_missed & ~gt.iscrowd
    gt_cat = gt.category[missed]
    np.add.at(mat, (gt_cat, np.full_like(gt_cat, k)), 1)
    names = gt.category_names or tuple(str(c) for c in gt.category_ids)
    return ConfusionMatrix(
        category_ids=gt.category_ids,
        labels=(*names, BACKGROUND),
        matrix=mat,
        iou_thr=float(iou_thr),
        min_score=float(min_score),
    )
