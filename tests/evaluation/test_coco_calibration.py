"""Calibration comes out of the same COCO pass: TP/FP at an IoU threshold against the scores."""

from __future__ import annotations

import numpy as np
import pytest

from predscope.evaluation.coco_eval import evaluate_coco
from predscope.evaluation.inputs import CocoDetections, CocoGroundTruth


def _gt() -> CocoGroundTruth:
    boxes = np.array([[10.0, 10.0, 20.0, 20.0], [60.0, 60.0, 20.0, 20.0]])
    return CocoGroundTruth(
        num_images=1,
        category_ids=(1,),
        image=np.zeros(2, np.int64),
        category=np.zeros(2, np.int64),
        bbox=boxes,
        area=boxes[:, 2] * boxes[:, 3],
        iscrowd=np.zeros(2, np.bool_),
    )


def _dt(scores: list[float]) -> CocoDetections:
    # A perfect hit on GT 0, a box far from any GT, a perfect hit on GT 1.
    boxes = np.array(
        [[10.0, 10.0, 20.0, 20.0], [200.0, 200.0, 20.0, 20.0], [60.0, 60.0, 20.0, 20.0]]
    )
    return CocoDetections(
        image=np.zeros(3, np.int64),
        category=np.zeros(3, np.int64),
        bbox=boxes,
        area=boxes[:, 2] * boxes[:, 3],
        score=np.array(scores),
    )


def test_reliability_table_by_hand() -> None:
    ev = evaluate_coco(_gt(), _dt([0.9, 0.8, 0.3]))
    cal = ev.calibration(iou_thr=0.5, n_bins=10)
    assert cal is not None
    assert cal.n == 3
    assert cal.count.tolist() == [0, 0, 0, 1, 0, 0, 0, 0, 1, 1]
    assert cal.accuracy[[3, 8, 9]].tolist() == [1.0, 0.0, 1.0]
    assert cal.mean_confidence[[3, 8, 9]] == pytest.approx([0.3, 0.8, 0.9])
    # |0.3 - 1| + |0.8 - 0| + |0.9 - 1|, each bin weighted 1/3.
    assert cal.ece == pytest.approx((0.7 + 0.8 + 0.1) / 3)


def test_scores_outside_unit_interval_have_no_calibration() -> None:
    ev = evaluate_coco(_gt(), _dt([7.4, 0.8, 0.3]))
    assert ev.calibration() is None
    assert ev.stats["AP50"] > 0  # the COCO numbers themselves do not need probabilities
