"""Rotated boxes and polylines go through the same COCO matching, accumulation and summary."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from predscope.evaluation.coco_eval import evaluate_coco
from predscope.evaluation.inputs import CocoDetections, CocoGroundTruth, Polylines
from predscope.evaluation.params import IOU_TYPES, CocoParams
from predscope.evaluation.polyline import evaluate_polylines, symmetric_mean_distance
from predscope.evaluation.results import Outcome
from predscope.evaluation.rotated import rotated_iou_pixels
from predscope.exceptions import EvaluationError
from tests.evaluation._coco_eval_helpers import make_case
from tests.evaluation.test_slices import _inputs


def _with_rotation(
    gt: CocoGroundTruth, dt: CocoDetections, theta: float
) -> tuple[CocoGroundTruth, CocoDetections]:
    def rot(b: np.ndarray) -> np.ndarray:
        return np.column_stack([b, np.full(b.shape[0], theta)])

    return replace(gt, rotated=rot(gt.bbox)), replace(dt, rotated=rot(dt.bbox))


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_rotated_at_zero_degrees_equals_bbox(seed: int) -> None:
    gti, dti = _inputs(*make_case(seed, n_img=15, tie_scores=False))
    gtr, dtr = _with_rotation(gti, dti, 0.0)
    box = evaluate_coco(gti, dti, CocoParams(iou_type="bbox"))
    rot = evaluate_coco(gtr, dtr, CocoParams.default("rotated"))
    np.testing.assert_allclose(rot.precision, box.precision, rtol=0, atol=1e-12)
    np.testing.assert_allclose(rot.recall, box.recall, rtol=0, atol=1e-12)
    np.testing.assert_allclose(rot.stats_list, box.stats_list, rtol=0, atol=1e-12)
    assert np.array_equal(rot.outcomes.outcome, box.outcomes.outcome)


def test_rotated_by_90_degrees_equals_bbox_of_the_swapped_boxes() -> None:
    gti, dti = _inputs(*make_case(3, n_img=15, tie_scores=False))

    def swapped(b: np.ndarray) -> np.ndarray:
        cx, cy = b[:, 0] + b[:, 2] / 2, b[:, 1] + b[:, 3] / 2
        return np.column_stack([cx - b[:, 3] / 2, cy - b[:, 2] / 2, b[:, 3], b[:, 2]])

    gtr, dtr = _with_rotation(gti, dti, 90.0)
    rot = evaluate_coco(gtr, dtr, CocoParams.default("rotated"))
    box = evaluate_coco(
        replace(gti, bbox=swapped(gti.bbox)), replace(dti, bbox=swapped(dti.bbox)), CocoParams()
    )
    np.testing.assert_allclose(rot.stats_list, box.stats_list, rtol=0, atol=1e-9)


def test_rotated_matches_use_the_exact_rotated_iou() -> None:
    gti, dti = _inputs(*make_case(4, n_img=10, tie_scores=False))
    rng = np.random.default_rng(1)
    gtr = replace(
        gti, rotated=np.column_stack([gti.bbox, rng.uniform(-40, 40, gti.num_annotations)])
    )
    dtr = replace(
        dti, rotated=np.column_stack([dti.bbox, rng.uniform(-40, 40, dti.num_detections)])
    )
    ev = evaluate_coco(gtr, dtr, CocoParams.default("rotated"))
    t = 0
    matched = np.flatnonzero(ev.outcomes.matched_gt[t] >= 0)
    assert matched.size > 10
    for d in matched:
        g = ev.outcomes.matched_gt[t, d]
        expected = rotated_iou_pixels(dtr.rotated[d : d + 1], gtr.rotated[g : g + 1])[0, 0]
        if gtr.iscrowd[g]:
            continue
        assert ev.outcomes.iou[t, d] == pytest.approx(expected, abs=1e-12)
        assert gtr.category[g] == dtr.category[d] and gtr.image[g] == dtr.image[d]


def _polyline_case(seed: int) -> tuple[CocoGroundTruth, CocoDetections, list, list]:
    rng = np.random.default_rng(seed)
    n_img, n_cat = 6, 3
    gt_img, gt_cat, gt_lines, dt_img, dt_cat, dt_lines, scores = [], [], [], [], [], [], []
    for i in range(n_img):
        for _ in range(int(rng.integers(1, 6))):
            k = int(rng.integers(2, 6))
            pts = np.cumsum(rng.normal(0, 15, (k, 2)), axis=0) + rng.uniform(50, 150, 2)
            c = int(rng.integers(0, n_cat))
            gt_img.append(i)
            gt_cat.append(c)
            gt_lines.append(pts)
            for _ in range(int(rng.integers(0, 3))):
                noisy = pts + rng.normal(0, rng.choice([0.5, 2.0, 6.0]), pts.shape)
                dt_img.append(i)
                dt_cat.append(c if rng.random() < 0.8 else int(rng.integers(0, n_cat)))
                dt_lines.append(noisy)
                scores.append(float(rng.random()))
        for _ in range(int(rng.integers(0, 3))):
            dt_img.append(i)
            dt_cat.append(int(rng.integers(0, n_cat)))
            dt_lines.append(rng.uniform(0, 200, (3, 2)))
            scores.append(float(rng.random()))

    def ext(lines: list) -> np.ndarray:
        lo = np.array([ln.min(axis=0) for ln in lines])
        hi = np.array([ln.max(axis=0) for ln in lines])
        return np.column_stack([lo, hi - lo])

    gb, db = ext(gt_lines), ext(dt_lines)
    gt = CocoGroundTruth(
        num_images=n_img,
        category_ids=tuple(range(n_cat)),
        image=np.array(gt_img),
        category=np.array(gt_cat),
        bbox=gb,
        area=gb[:, 2] * gb[:, 3],
        iscrowd=np.zeros(len(gt_img), bool),
        polylines=Polylines.from_lists(gt_lines),
        image_size=np.full((n_img, 2), 200.0),
    )
    dt = CocoDetections(
        image=np.array(dt_img),
        category=np.array(dt_cat),
        bbox=db,
        area=db[:, 2] * db[:, 3],
        score=np.array(scores),
        polylines=Polylines.from_lists(dt_lines),
    )
    return gt, dt, gt_lines, dt_lines


@pytest.mark.parametrize("seed", [0, 1])
def test_polyline_at_similarity_half_equals_the_tolerance_matcher(seed: int) -> None:
    gt, dt, gt_lines, dt_lines = _polyline_case(seed)
    tau = 5.0
    ev = evaluate_coco(gt, dt, CocoParams(iou_type="polyline", polyline_tolerance_px=tau))
    ref = evaluate_polylines(
        dt.image, dt.category, dt_lines, dt.score, gt.image, gt.category, gt_lines, tolerance_px=tau
    )
    tp = ev.outcomes.outcome[0] == Outcome.TP
    assert tp.sum() == (ref.pred_matched_gt >= 0).sum() > 5
    assert np.array_equal(tp, ref.pred_matched_gt >= 0)
    for d in np.flatnonzero(tp):
        g = ev.outcomes.matched_gt[0, d]
        dist = symmetric_mean_distance(dt_lines[d], gt_lines[g])
        assert ev.outcomes.iou[0, d] == pytest.approx(1 - dist / (2 * tau), abs=1e-9)
    assert 0 < ev.stats["AP"] < 1


def test_polyline_default_tolerance_is_a_share_of_the_diagonal() -> None:
    gt, dt, _, _ = _polyline_case(2)
    tau = 0.02 * np.hypot(200, 200)
    a = evaluate_coco(gt, dt, CocoParams(iou_type="polyline"))
    b = evaluate_coco(gt, dt, CocoParams(iou_type="polyline", polyline_tolerance_px=float(tau)))
    assert a.stats_list == b.stats_list
    with pytest.raises(EvaluationError, match="image_size"):
        evaluate_coco(replace(gt, image_size=None), dt, CocoParams(iou_type="polyline"))


def test_missing_geometry_is_refused_per_type() -> None:
    gti, dti = _inputs(*make_case(0, n_img=3))
    for kind in IOU_TYPES:
        if kind == "bbox":
            continue
        with pytest.raises(EvaluationError, match=f"{kind} evaluation needs"):
            evaluate_coco(gti, dti, CocoParams.default(kind))
    with pytest.raises(EvaluationError, match="rotated"):
        CocoDetections(
            image=[0], category=[0], bbox=[[0, 0, 1, 1]], area=[1], score=[1], rotated=[[0, 0, 1]]
        )
