"""The class-agnostic matching run on the shared per-image pairs (``image_pairs``, what TIDE's
cross-class tests read too) equals ``single_threshold_outcomes`` with categories ignored, on
cases with tied scores, more detections than maxDets in an image, crowd GT, detections of a
category the GT does not declare, masks and keypoints."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from predscope.evaluation.errors import tide_errors
from predscope.evaluation.image_pairs import agnostic_outcomes, image_pairs
from predscope.evaluation.inputs import CocoDetections, CocoGroundTruth
from predscope.evaluation.outcomes import single_threshold_outcomes
from predscope.evaluation.params import CocoParams
from predscope.exceptions import EvaluationError
from tests.evaluation._coco_eval_helpers import coco_inputs, make_case, make_keypoint_case


def _undeclared(dt: CocoDetections, seed: int) -> CocoDetections:
    """Some detections moved to a category the GT does not declare (index -1)."""
    cat = dt.category.copy()
    cat[np.random.default_rng(seed).random(cat.size) < 0.1] = -1
    return replace(dt, category=cat)


def _assert_same(gt: CocoGroundTruth, dt: CocoDetections, params: CocoParams, thr: float) -> None:
    want = single_threshold_outcomes(gt, dt, thr, params=replace(params, use_cats=False))
    got = agnostic_outcomes(gt, dt, image_pairs(gt, dt, params), thr)
    for name in ("outcome", "matched_gt", "gt_outcome", "gt_matched_by"):
        np.testing.assert_array_equal(getattr(got, name), getattr(want, name), err_msg=name)
    np.testing.assert_array_equal(got.iou, want.iou)
    assert got.iou_thr == want.iou_thr


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("max_dets", [(1, 10, 100), (1, 3, 7)])
def test_agnostic_matching_on_shared_pairs_equals_the_engine(
    seed: int, max_dets: tuple[int, ...]
) -> None:
    gt, dt = coco_inputs(*make_case(seed, dets_per_img=120 if seed % 2 else 30))
    params = CocoParams(max_dets=max_dets)
    for thr in (0.5, 0.75):
        _assert_same(gt, dt, params, thr)
        _assert_same(gt, _undeclared(dt, seed), params, thr)


def test_agnostic_matching_on_shared_pairs_masks_and_keypoints() -> None:
    gt, dt = coco_inputs(*make_case(3, n_img=8, segm=True), "segm")
    _assert_same(gt, dt, CocoParams(iou_type="segm"), 0.5)
    gt, dt = coco_inputs(*make_keypoint_case(2, n_img=20), "keypoints")
    _assert_same(gt, _undeclared(dt, 2), CocoParams.for_keypoints(), 0.5)


def test_tide_refuses_pairs_of_another_geometry() -> None:
    gt, dt = coco_inputs(*make_case(1, n_img=4))
    gtr = replace(gt, rotated=np.hstack([gt.bbox, np.zeros((gt.num_annotations, 1))]))
    dtr = replace(dt, rotated=np.hstack([dt.bbox, np.zeros((dt.num_detections, 1))]))
    pairs = image_pairs(gtr, dtr, CocoParams(iou_type="rotated"))
    with pytest.raises(EvaluationError, match="another IoU geometry"):
        tide_errors(gtr, dtr, CocoParams(), pairs=pairs)


def test_agnostic_matching_without_detections_or_ground_truth() -> None:
    gt, dt = coco_inputs(*make_case(2, n_img=5))
    none = np.zeros(0, dtype=np.int64)
    _assert_same(
        gt, dt.__class__(none, none, np.zeros((0, 4)), np.zeros(0), np.zeros(0)), CocoParams(), 0.5
    )
