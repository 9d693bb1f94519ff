"""Per-prediction outcomes, confusion matrix and PR curves on a case checked by hand.

Image 100x100. GT: g0 A [0,0,10,10]; g1 A crowd [50,50,40,40]; g2 B [20,20,10,10];
g3 A [0,40,10,10]. Detections (all class A):
  d0 .9 [0,0,10,10]  IoU 1 with g0                      -> TP at every threshold
  d1 .8 [1,0,10,10]  IoU .818 with g0, already taken   -> FP
  d2 .7 [60,60,10,10] inside the crowd (100/100 = 1)    -> IGNORED
  d3 .6 [20,20,10,10] on g2, but g2 is class B          -> FP (classwise)
  d4 .5 [0,42,10,10] IoU 80/120 = .667 with g3          -> TP at .50-.65, FP from .70
"""

from __future__ import annotations

import numpy as np
import pytest

from predscope.evaluation.coco_eval import evaluate_coco
from predscope.evaluation.confusion import BACKGROUND, confusion_matrix
from predscope.evaluation.curves import pr_curves
from predscope.evaluation.inputs import CocoDetections, CocoGroundTruth
from predscope.evaluation.outcomes import single_threshold_outcomes
from predscope.evaluation.results import Outcome
from predscope.exceptions import EvaluationError


def _case() -> tuple[CocoGroundTruth, CocoDetections]:
    gt = CocoGroundTruth(
        num_images=1,
        category_ids=(1, 2),
        category_names=("A", "B"),
        image=np.zeros(4, np.int64),
        category=np.array([0, 0, 1, 0]),
        bbox=np.array([[0, 0, 10, 10], [50, 50, 40, 40], [20, 20, 10, 10], [0, 40, 10, 10]]),
        area=np.array([100.0, 1600.0, 100.0, 100.0]),
        iscrowd=np.array([False, True, False, False]),
    )
    boxes = np.array(
        [[0, 0, 10, 10], [1, 0, 10, 10], [60, 60, 10, 10], [20, 20, 10, 10], [0, 42, 10, 10]],
        dtype=np.float64,
    )
    dt = CocoDetections(
        image=np.zeros(5, np.int64),
        category=np.zeros(5, np.int64),
        bbox=boxes,
        area=boxes[:, 2] * boxes[:, 3],
        score=np.array([0.9, 0.8, 0.7, 0.6, 0.5]),
    )
    return gt, dt


TP, FP, IG = Outcome.TP, Outcome.FP, Outcome.IGNORED


def test_outcome_table_at_every_threshold() -> None:
    gt, dt = _case()
    out = evaluate_coco(gt, dt).outcomes
    expected_d4 = [TP] * 4 + [FP] * 6  # .50 .55 .60 .65 match; .70 ... .95 do not
    for t in range(10):
        assert out.outcome[t].tolist() == [TP, FP, IG, FP, expected_d4[t]]
    assert out.matched_gt[0].tolist() == [0, -1, 1, -1, 3]
    assert out.iou[0, 0] == 1.0
    assert out.iou[0, 4] == pytest.approx(80 / 120, abs=1e-15)
    assert np.isnan(out.iou[0, 1])
    assert out.gt_ignored.tolist() == [False, True, False, False]
    assert out.gt_missed[0].tolist() == [False, False, True, False]
    assert out.gt_missed[9].tolist() == [False, False, True, True]
    assert out.counts(0.5) == {"tp": 2, "fp": 2, "fn": 1, "ignored": 1}
    assert out.counts(0.75) == {"tp": 1, "fp": 3, "fn": 2, "ignored": 1}
    with pytest.raises(EvaluationError, match="not one of the evaluated thresholds"):
        out.counts(0.52)


def test_single_threshold_view() -> None:
    gt, dt = _case()
    res = single_threshold_outcomes(gt, dt, 0.66)
    assert res.outcome.tolist() == [TP, FP, IG, FP, TP]
    assert res.gt_outcome.tolist() == [TP, IG, -1, TP]
    res = single_threshold_outcomes(gt, dt, 0.67)
    assert res.outcome.tolist() == [TP, FP, IG, FP, FP]
    assert res.gt_missed.tolist() == [False, False, True, True]


def test_confusion_matrix_with_background() -> None:
    gt, dt = _case()
    cm = confusion_matrix(gt, dt, 0.5)
    assert cm.labels == ("A", "B", BACKGROUND)
    # rows GT A, GT B, background; columns predicted A, B, background
    assert cm.matrix.tolist() == [[2, 0, 0], [1, 0, 0], [1, 0, 0]]
    assert cm.cell("B", "A") == 1
    high = confusion_matrix(gt, dt, 0.7)  # d4 no longer matches g3: g3 missed, d4 unmatched
    assert high.matrix.tolist() == [[1, 0, 1], [1, 0, 0], [2, 0, 0]]
    only_top = confusion_matrix(gt, dt, 0.5, min_score=0.85)
    assert only_top.matrix.tolist() == [[1, 0, 1], [0, 0, 1], [0, 0, 0]]


def test_pr_curve_and_best_f1() -> None:
    gt, dt = _case()
    curves = pr_curves(evaluate_coco(gt, dt), 0.5)
    a, b = curves
    assert a.num_gt == 2 and b.num_gt == 1
    # non-ignored detections of A in score order: TP, FP, FP, TP
    np.testing.assert_allclose(a.precision, [1.0, 0.5, 1 / 3, 0.5])
    np.testing.assert_allclose(a.recall, [0.5, 0.5, 0.5, 1.0])
    np.testing.assert_allclose(a.scores, [0.9, 0.8, 0.6, 0.5])
    # F1 ties at 2/3 (P=1, R=.5 and P=.5, R=1): the higher threshold wins
    assert a.best_threshold == 0.9
    assert a.best_f1 == pytest.approx(2 / 3)
    assert b.scores.size == 0 and np.isnan(b.best_f1)


def test_score_ties_form_one_operating_point() -> None:
    gt, dt = _case()
    tied = CocoDetections(
        image=dt.image,
        category=dt.category,
        bbox=dt.bbox,
        area=dt.area,
        score=np.array([0.9, 0.5, 0.7, 0.6, 0.5]),
    )
    a = pr_curves(evaluate_coco(gt, tied), 0.5)[0]
    np.testing.assert_allclose(a.scores, [0.9, 0.6, 0.5])
    np.testing.assert_allclose(a.precision, [1.0, 0.5, 0.5])


def test_ap_of_the_hand_case() -> None:
    gt, dt = _case()
    ev = evaluate_coco(gt, dt)
    # class A at IoU .5: precision envelope 1 up to recall .5, then .5 up to recall 1
    expected = (51 * 1.0 + 50 * 0.5) / 101
    assert ev.precision[0, :, 0, 0, 2].mean() == pytest.approx(expected, abs=1e-15)
    assert ev.per_class[1].ap == 0.0  # class B: one GT, no detection of B
