"""Parity cases the main parity suite leaves out (the skimage demo predictions,
per-skeleton keypoint sigmas, several parameters at once), checked live against pycocotools."""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

import numpy as np
import pytest

from predscope.evaluation.params import CocoParams
from tests.evaluation._coco_eval_helpers import (
    DATA,
    assert_parity,
    make_case,
    make_keypoint_case,
    run_ours,
    run_pycocotools,
)

SKIMAGE = DATA / "skimage-images"
PREDICTIONS = (
    "pred_opencv_haar_hog.json",
    "pred_mediapipe_0.10.21.json",
    "pred_rapidocr_1.4.4.json",
)


def _skimage(name: str) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    gt = json.loads((SKIMAGE / "demo_ground_truth.json").read_text())
    return gt, json.loads((SKIMAGE / name).read_text())


@pytest.mark.parametrize("name", PREDICTIONS)
def test_skimage_demo_bbox_matches_pycocotools(name: str) -> None:
    gt, dt = _skimage(name)
    ref, ours = run_pycocotools(gt, dt, "bbox"), run_ours(gt, dt, "bbox")
    assert_parity(ref, ours)
    assert ours.stats_list[0] == pytest.approx(float(ref.stats[0]), abs=1e-12)


@pytest.mark.parametrize("name", PREDICTIONS)
def test_skimage_demo_segm_matches_pycocotools(name: str) -> None:
    gt, dt = _skimage(name)
    if not all("segmentation" in a for a in gt["annotations"]):
        pytest.skip("the demo ground truth has no masks for segm")
    # Results with a segmentation take loadRes's segm branch; the boxes-only files take the bbox
    # branch, whose box polygons become the masks. Both must agree with pycocotools.
    assert_parity(run_pycocotools(gt, dt, "segm"), run_ours(gt, dt, "segm"))


def test_keypoints_with_custom_sigmas() -> None:
    """Per-skeleton sigmas change OKS; the result must still equal pycocotools with the same
    sigmas set on its params."""
    gt, dt = make_keypoint_case(8, n_img=15)
    k = len(gt["annotations"][0]["keypoints"]) // 3
    sigmas = np.linspace(0.02, 0.15, k)
    ref = run_pycocotools(gt, dt, "keypoints", tweak={"kpt_oks_sigmas": sigmas})
    ours = run_ours(gt, dt, "keypoints", params=CocoParams.for_keypoints(list(sigmas)))
    assert_parity(ref, ours)
    default = run_ours(gt, dt, "keypoints")
    assert not np.array_equal(default.stats_list, ours.stats_list)


def test_several_params_at_once() -> None:
    gt, dt = make_case(31, dets_per_img=60)
    tweak = {
        "iouThrs": np.array([0.3, 0.5, 0.7]),
        "recThrs": np.linspace(0.0, 1.0, 11),
        "maxDets": [5, 20, 50],
        "areaRng": [[0, 1e10], [0, 500], [500, 1e10]],
        "areaRngLbl": ["all", "lo", "hi"],
    }
    params = replace(
        CocoParams.default("bbox"),
        iou_thrs=np.array([0.3, 0.5, 0.7]),
        rec_thrs=np.linspace(0.0, 1.0, 11),
        max_dets=(5, 20, 50),
        area_rng=((0, 1e10), (0, 500), (500, 1e10)),
        area_labels=("all", "lo", "hi"),
    )
    ref = run_pycocotools(gt, dt, tweak=tweak, summarize=False)
    assert_parity(ref, run_ours(gt, dt, params=params), stats=False)
