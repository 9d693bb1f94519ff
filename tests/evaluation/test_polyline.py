"""Polyline distance and matching on hand-checked cases."""

from __future__ import annotations

import math

import numpy as np
import pytest

from predscope.evaluation.inputs import CocoDetections, CocoGroundTruth, Polylines
from predscope.evaluation.outcomes import single_threshold_outcomes
from predscope.evaluation.params import CocoParams
from predscope.evaluation.polyline import (
    evaluate_polylines,
    point_to_polyline,
    resample,
    symmetric_mean_distance,
)
from predscope.exceptions import EvaluationError


def test_parallel_segments_distance_is_offset() -> None:
    a = [[0, 0], [100, 0]]
    b = [[0, 3], [100, 3]]
    assert symmetric_mean_distance(a, b) == pytest.approx(3.0)


def test_distance_ignores_direction_and_vertex_density() -> None:
    a = np.array([[0, 0], [50, 0], [50, 50]], dtype=float)
    dense = np.array([[0, 0], [10, 0], [25, 0], [50, 0], [50, 20], [50, 50]], dtype=float)
    assert symmetric_mean_distance(a, dense) == pytest.approx(0.0, abs=1e-12)
    assert symmetric_mean_distance(a, a[::-1]) == pytest.approx(0.0, abs=1e-12)
    assert symmetric_mean_distance(a, [[0, 1], [50, 1]]) == symmetric_mean_distance(
        [[0, 1], [50, 1]], a
    )


def test_shorter_curve_is_penalised_one_way() -> None:
    # b covers the first half of a: b->a is 0; a->b samples along 0..100 see distance max(0, x -
    # 50),
    # whose mean over 101 evenly spaced samples is sum_{k=0..50} k / 101 = 1275 / 101
    a = [[0, 0], [100, 0]]
    b = [[0, 0], [50, 0]]
    assert symmetric_mean_distance(a, b, samples=101) == pytest.approx(0.5 * 1275 / 101)


def test_point_to_polyline_and_resample() -> None:
    line = np.array([[0, 0], [10, 0], [10, 10]], dtype=float)
    pts = np.array([[5, -2], [12, 5], [13, 14], [-3, -4]], dtype=float)
    np.testing.assert_allclose(point_to_polyline(pts, line), [2, 2, 5, 5])
    np.testing.assert_allclose(resample(line, 5), [[0, 0], [5, 0], [10, 0], [10, 5], [10, 10]])
    single = np.array([[1.0, 1.0]])
    np.testing.assert_allclose(resample(single, 3), [[1, 1]] * 3)


def test_matching_counts_by_hand() -> None:
    gt = [
        [[0, 0], [100, 0]],  # 0: image 0, class 0
        [[0, 50], [100, 50]],  # 1: image 0, class 0
        [[0, 0], [0, 100]],  # 2: image 0, class 1 (never predicted -> FN)
    ]
    preds = [
        [[0, 1], [100, 1]],  # close to GT 0 (d=1) -> TP
        [[0, 2], [100, 2]],  # also closest to GT 0, which is taken; GT 1 is 48 away -> FP
        [[0, 52], [100, 52]],  # GT 1 at d=2 -> TP (GT 0 is 52 away)
        [[0, 20], [100, 20]],  # class 1 but far from GT 2 -> FP
    ]
    res = evaluate_polylines(
        [0, 0, 0, 0],
        [0, 0, 0, 1],
        preds,
        [0.9, 0.8, 0.7, 0.6],
        [0, 0, 0],
        [0, 0, 1],
        gt,
        tolerance_px=5.0,
    )
    assert res.pred_matched_gt.tolist() == [0, -1, 1, -1]
    assert res.pred_distance[0] == pytest.approx(1.0)
    assert res.pred_distance[2] == pytest.approx(2.0)
    c0, c1 = res.per_class
    assert (c0.tp, c0.fp, c0.fn) == (2, 1, 0)
    assert c0.precision == pytest.approx(2 / 3) and c0.recall == 1.0 and c0.f1 == pytest.approx(0.8)
    assert (c1.tp, c1.fp, c1.fn) == (0, 1, 1) and c1.f1 == 0.0
    assert res.precision == pytest.approx(0.5) and res.recall == pytest.approx(2 / 3)


def test_score_order_decides_who_matches() -> None:
    gt = [[[0, 0], [100, 0]]]
    preds = [[[0, 1], [100, 1]], [[0, 3], [100, 3]]]
    res = evaluate_polylines([0, 0], [0, 0], preds, [0.2, 0.9], [0], [0], gt, tolerance_px=5.0)
    assert res.pred_matched_gt.tolist() == [-1, 0]


def test_default_tolerance_is_two_percent_of_diagonal() -> None:
    gt = [[[0, 0], [100, 0]]]
    preds = [[[0, 4], [100, 4]]]
    # 300 x 400 image: diagonal 500, tolerance 10 -> match; 100 x 100: tolerance 2.83 -> no match
    big = evaluate_polylines([0], [0], preds, [1.0], [0], [0], gt, image_sizes=[[300, 400]])
    small = evaluate_polylines([0], [0], preds, [1.0], [0], [0], gt, image_sizes=[[100, 100]])
    assert big.pred_tolerance[0] == pytest.approx(10.0)
    assert small.pred_tolerance[0] == pytest.approx(0.02 * math.hypot(100, 100))
    assert big.per_class[0].tp == 1 and small.per_class[0].tp == 0


def test_other_image_never_matches() -> None:
    res = evaluate_polylines(
        [1], [0], [[[0, 0], [10, 0]]], [1.0], [0], [0], [[[0, 0], [10, 0]]], tolerance_px=1
    )
    assert res.pred_matched_gt.tolist() == [-1] and np.isinf(res.pred_distance[0])


def test_bad_inputs() -> None:
    with pytest.raises(EvaluationError, match="tolerance_px"):
        evaluate_polylines([], [], [], [], [], [], [])
    with pytest.raises(EvaluationError, match=r"pred_lines\[0\]"):
        evaluate_polylines([0], [0], [[1, 2, 3]], [1.0], [], [], [], tolerance_px=1)
    with pytest.raises(EvaluationError, match="pred_scores"):
        evaluate_polylines([0], [0], [[[0, 0], [1, 1]]], [], [], [], [], tolerance_px=1)


def test_single_threshold_outcomes_keep_the_polyline_tolerance() -> None:
    """A line 4 px off its GT: similarity 1 - 4 / 20 = 0.8 at a 10 px tolerance (matched at
    0.5), 0 at the default 2% of a 100 x 100 diagonal (2.8 px)."""
    box = np.array([[0.0, 0.0, 100.0, 4.0]])
    gt = CocoGroundTruth(
        num_images=1,
        category_ids=(1,),
        image=np.zeros(1, np.int64),
        category=np.zeros(1, np.int64),
        bbox=box,
        area=np.array([400.0]),
        iscrowd=np.zeros(1, np.bool_),
        polylines=Polylines.from_lists([[[0, 0], [100, 0]]]),
        image_size=np.array([[100.0, 100.0]]),
    )
    dt = CocoDetections(
        image=np.zeros(1, np.int64),
        category=np.zeros(1, np.int64),
        bbox=box,
        area=np.array([400.0]),
        score=np.ones(1),
        polylines=Polylines.from_lists([[[0, 4], [100, 4]]]),
    )
    wide = CocoParams(iou_type="polyline", polyline_tolerance_px=10.0)
    assert single_threshold_outcomes(gt, dt, 0.5, params=wide).matched_gt.tolist() == [0]
    narrow = CocoParams(iou_type="polyline")
    assert single_threshold_outcomes(gt, dt, 0.5, params=narrow).matched_gt.tolist() == [-1]
